using Vessel.Boot.Layout;
using Vessel.Boot.Multiboot;

namespace Vessel.Boot;

/// <summary>What the machine hands the kernel besides the kernel itself.</summary>
public sealed class KernelLoadOptions
{
    /// <summary>The kernel command line, without a terminating NUL.</summary>
    public string CommandLine { get; init; } = string.Empty;

    /// <summary>An initrd/initramfs for Linux; for a multiboot kernel, the single module when <see cref="Modules"/> is empty (QEMU's -initrd does the same).</summary>
    public ReadOnlyMemory<byte> Initrd { get; init; }

    /// <summary>Multiboot modules, in order; ignored for Linux.</summary>
    public IReadOnlyList<MultibootModule> Modules { get; init; } = [];

    /// <summary>Ranges outside guest RAM the OS must not claim (PCI ECAM in the MMIO hole), added to the memory map as given.</summary>
    public IReadOnlyList<E820Entry> ReservedRanges { get; init; } = [];

    /// <summary>Where the machine put the ACPI RSDP, for boot_params.acpi_rsdp_addr; null when there are no ACPI tables.</summary>
    public ulong? AcpiRsdpAddress { get; init; }
}

namespace Vessel.Boot;

/// <summary>The kinds of kernel image Vessel boots, told apart by their magic numbers.</summary>
public enum KernelImageFormat
{
    /// <summary>An x86-64 ELF executable without a multiboot header (Linux vmlinux, or a bare-metal program), booted with the Linux 64-bit protocol.</summary>
    Elf64,

    /// <summary>A Linux bzImage ("HdrS" at 0x202), entered at its 64-bit entry point.</summary>
    BzImage,

    /// <summary>An ELF32 or ELF64 executable with a multiboot header in its first 8 KiB (kvm-unit-tests' .flat files are ELF32).</summary>
    MultibootElf,

    /// <summary>A non-ELF image whose multiboot header carries the a.out kludge load addresses (flag bit 16).</summary>
    MultibootAout,
}

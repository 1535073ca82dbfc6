using System.Text;
using Vessel.Boot.Cpu;
using Vessel.Boot.Layout;
using Vessel.Core.Accel;
using Vessel.Core.Memory;

namespace Vessel.Boot.Linux;

/// <summary>
/// Everything around a loaded Linux kernel for the 64-bit boot protocol (boot.rst, "64-bit BOOT PROTOCOL"): command line, initrd,
/// boot_params with the e820 map, boot GDT, identity-mapped page tables, and the long-mode register state Firecracker starts vCPU 0 in.
/// </summary>
public static class LinuxBoot
{
    /// <summary>Firecracker's CMDLINE_MAX_SIZE and x86 Linux's COMMAND_LINE_SIZE: 2048 bytes including the NUL, used when the kernel has no setup header to say.</summary>
    public const int DefaultCommandLineCapacity = 2048;

    /// <summary>type_of_loader 0xFF: "a boot loader without an assigned id" (boot.rst, field type_of_loader).</summary>
    public const byte UndefinedLoaderType = 0xFF;

    /// <summary>Firecracker's KERNEL_MIN_ALIGNMENT_BYTES, put in kernel_alignment when an ELF kernel brings no header of its own.</summary>
    public const uint DefaultKernelAlignment = 0x100_0000;

    /// <summary>A vmlinux loads at or above 1 MiB: below it go the boot GDT, zero page, page tables, command line and the BIOS area.</summary>
    public static IReadOnlyList<BootArea> BootAreas { get; } =
        [new BootArea(0, BootLayout.HighMemoryStart, "the Linux boot structures (GDT, zero page, page tables, command line) and the BIOS area")];

    /// <summary>Places command line, initrd, zero page, GDT and page tables for a kernel already in memory, and returns the boot vCPU's state.</summary>
    /// <param name="memory">Guest RAM.</param>
    /// <param name="format">The kernel's image format.</param>
    /// <param name="entry">The 64-bit entry point.</param>
    /// <param name="kernelStart">Lowest address of the kernel.</param>
    /// <param name="kernelEnd">First address past everything the kernel needs; the initrd goes above it.</param>
    /// <param name="header">The bzImage's setup header, or null for an ELF kernel.</param>
    /// <param name="options">Command line, initrd, reserved ranges, RSDP.</param>
    public static LoadedKernel Configure(
        GuestMemory memory, KernelImageFormat format, ulong entry, ulong kernelStart, ulong kernelEnd, SetupHeader? header, KernelLoadOptions options)
    {
        if (entry >= IdentityPageTables.MappedSize || kernelEnd > IdentityPageTables.MappedSize)
        {
            throw new BootImageException(
                $"The kernel occupies 0x{kernelStart:x}-0x{kernelEnd:x} with entry 0x{entry:x}, but the boot page tables identity-map only the first "
                + $"0x{IdentityPageTables.MappedSize:x} bytes, which boot.rst requires for the kernel. Link the kernel lower.");
        }

        int commandLineLength = WriteCommandLine(memory, options.CommandLine, header);
        var (initrdAddress, initrdSize) = PlaceInitrd(memory, options.Initrd.Span, kernelEnd, header);

        var bootParams = new BootParams();
        if (header is not null)
        {
            bootParams.CopySetupHeader(header.Bytes);
        }
        else
        {
            // Firecracker (arch/x86_64/mod.rs configure_64bit_boot): without a kernel header, start from a zeroed one with the minimum alignment.
            bootParams.KernelAlignment = DefaultKernelAlignment;
            bootParams.CommandLineSize = (uint)commandLineLength + 1;
            bootParams.LoadFlags = LoadFlags.LoadedHigh;
        }

        bootParams.TypeOfLoader = UndefinedLoaderType;
        bootParams.BootFlag = SetupHeader.BootFlagMagic;
        bootParams.Header = SetupHeader.HeaderMagic;
        bootParams.CommandLinePointer = BootLayout.CommandLineStart;
        bootParams.RamdiskImage = initrdAddress;
        bootParams.RamdiskSize = initrdSize;
        if (options.AcpiRsdpAddress is { } rsdp)
        {
            bootParams.AcpiRsdpAddress = rsdp;
        }

        foreach (var entryInMap in E820Map.Build(memory, options.ReservedRanges))
        {
            bootParams.AddE820Entry(entryInMap);
        }

        bootParams.WriteTo(memory, BootLayout.ZeroPageStart);

        var segments = BootGdt.Write(memory, longMode: true);
        ulong pageTableRoot = IdentityPageTables.Write(memory);
        var state = new VcpuBootState
        {
            Rip = entry,
            Rsi = BootLayout.ZeroPageStart,
            Rsp = BootLayout.BootStackPointer,
            Rbp = BootLayout.BootStackPointer,

            // Firecracker ORs PE and PG into the RESET value of CR0 and so keeps CD and NW set; we start with caching enabled, as firmware leaves it.
            Cr0 = (ulong)(ControlRegister0.ProtectionEnable | ControlRegister0.ExtensionType | ControlRegister0.Paging),
            Cr3 = pageTableRoot,
            Cr4 = (ulong)ControlRegister4.PhysicalAddressExtension,
            Efer = (ulong)(ExtendedFeatureEnable.LongModeEnable | ExtendedFeatureEnable.LongModeActive),
        };
        segments.ApplyTo(state);
        return new LoadedKernel(format, BootProtocol.Linux64, entry, kernelStart, kernelEnd, initrdAddress, initrdSize, state);
    }

    /// <summary>Writes the NUL-terminated command line at <see cref="BootLayout.CommandLineStart"/> and returns its length without the NUL.</summary>
    private static int WriteCommandLine(GuestMemory memory, string commandLine, SetupHeader? header)
    {
        if (commandLine.Contains('\0', StringComparison.Ordinal))
        {
            throw new BootImageException("The kernel command line contains a NUL character, which would end it early. Remove it.");
        }

        byte[] bytes = Encoding.UTF8.GetBytes(commandLine + "\0");
        int length = bytes.Length - 1;
        ulong limit = header?.CommandLineSize ?? DefaultCommandLineCapacity - 1;
        if ((ulong)length > limit)
        {
            string source = header is null
                ? $"an ELF kernel takes at most {limit} (COMMAND_LINE_SIZE {DefaultCommandLineCapacity} with the NUL)"
                : $"this kernel takes at most {limit} (cmdline_size at offset 0x238 of the bzImage)";
            throw new BootImageException($"The kernel command line is {length} bytes; {source}. Shorten the command line.");
        }

        GuestRam.Write(memory, BootLayout.CommandLineStart, bytes, "The kernel command line");
        return length;
    }

    /// <summary>
    /// Puts the initrd as high as the kernel allows, page-aligned: below initrd_addr_max (boot.rst: "the highest address that may be
    /// occupied by the initial ramdisk") and below the end of RAM under the MMIO hole, like Firecracker's initrd_load_addr.
    /// </summary>
    private static (ulong Address, ulong Size) PlaceInitrd(GuestMemory memory, ReadOnlySpan<byte> initrd, ulong kernelEnd, SetupHeader? header)
    {
        if (initrd.IsEmpty)
        {
            return (0, 0);
        }

        ulong size = (ulong)initrd.Length;
        ulong lowRamEnd = GuestRam.LowRamEnd(memory);
        ulong limit = header is null ? lowRamEnd : Math.Min(lowRamEnd, (ulong)header.InitrdAddressMax + 1);
        ulong address = size <= limit ? (limit - size) & ~(BootLayout.PageSize - 1) : 0;
        if (size > limit || address < kernelEnd)
        {
            string ceiling = header is null
                ? $"the end of low RAM at 0x{lowRamEnd:x}"
                : $"the lower of initrd_addr_max+1 (0x{(ulong)header.InitrdAddressMax + 1:x}, offset 0x22c) and the end of low RAM (0x{lowRamEnd:x})";
            throw new BootImageException(
                $"The initrd is {size} bytes and does not fit between the end of the kernel at 0x{kernelEnd:x} and {ceiling}. "
                + "Give the guest more memory or use a smaller initrd.");
        }

        GuestRam.Write(memory, address, initrd, "The initrd");
        return (address, size);
    }
}

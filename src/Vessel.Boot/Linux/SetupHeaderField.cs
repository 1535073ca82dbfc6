namespace Vessel.Boot.Linux;

/// <summary>
/// Offsets of struct setup_header fields (Documentation/arch/x86/boot.rst, "The Real-Mode Kernel Header"). They are the same in the
/// kernel file and in struct boot_params, which embeds the header at <see cref="Start"/> (arch/x86/include/uapi/asm/bootparam.h).
/// </summary>
public static class SetupHeaderField
{
    /// <summary>First byte of the setup header (setup_sects).</summary>
    public const int Start = 0x1F1;

    /// <summary>setup_sects (1 byte): setup code size in 512-byte sectors; 0 means 4.</summary>
    public const int SetupSectors = 0x1F1;

    /// <summary>syssize (4 bytes, 2.04+): protected-mode code size in 16-byte paragraphs.</summary>
    public const int SystemSize = 0x1F4;

    /// <summary>vid_mode (2 bytes).</summary>
    public const int VideoMode = 0x1FA;

    /// <summary>boot_flag (2 bytes): 0xAA55.</summary>
    public const int BootFlag = 0x1FE;

    /// <summary>jump (2 bytes): 0xEB and the header's length past 0x202.</summary>
    public const int Jump = 0x200;

    /// <summary>Second byte of the jump: the setup header ends at 0x202 + this byte (boot.rst, "64-bit BOOT PROTOCOL").</summary>
    public const int JumpOffset = 0x201;

    /// <summary>header (4 bytes, 2.00+): "HdrS".</summary>
    public const int Header = 0x202;

    /// <summary>version (2 bytes, 2.00+): boot protocol version, (major &lt;&lt; 8) + minor.</summary>
    public const int Version = 0x206;

    /// <summary>type_of_loader (1 byte, 2.00+).</summary>
    public const int TypeOfLoader = 0x210;

    /// <summary>loadflags (1 byte, 2.00+).</summary>
    public const int LoadFlags = 0x211;

    /// <summary>code32_start (4 bytes, 2.00+): where the protected-mode kernel is loaded.</summary>
    public const int Code32Start = 0x214;

    /// <summary>ramdisk_image (4 bytes, 2.00+).</summary>
    public const int RamdiskImage = 0x218;

    /// <summary>ramdisk_size (4 bytes, 2.00+).</summary>
    public const int RamdiskSize = 0x21C;

    /// <summary>cmd_line_ptr (4 bytes, 2.02+).</summary>
    public const int CommandLinePointer = 0x228;

    /// <summary>initrd_addr_max (4 bytes, 2.03+): highest address the initrd may occupy.</summary>
    public const int InitrdAddressMax = 0x22C;

    /// <summary>kernel_alignment (4 bytes, 2.05+).</summary>
    public const int KernelAlignment = 0x230;

    /// <summary>relocatable_kernel (1 byte, 2.05+).</summary>
    public const int RelocatableKernel = 0x234;

    /// <summary>xloadflags (2 bytes, 2.12+).</summary>
    public const int ExtendedLoadFlags = 0x236;

    /// <summary>cmdline_size (4 bytes, 2.06+): longest command line, not counting the terminating NUL.</summary>
    public const int CommandLineSize = 0x238;

    /// <summary>pref_address (8 bytes, 2.10+): preferred load address.</summary>
    public const int PreferredAddress = 0x258;

    /// <summary>init_size (4 bytes, 2.10+): memory the kernel needs from its load address while it initializes.</summary>
    public const int InitSize = 0x260;

    /// <summary>End of the room for the header in struct boot_params: edd_mbr_sig_buffer starts here (zero-page.rst).</summary>
    public const int Limit = 0x290;

    /// <summary>End of the header as of protocol 2.15 (kernel_info_offset at 0x268, 4 bytes); a kernel's own jump byte says where its header ends.</summary>
    public const int End215 = 0x26C;
}

using System.Buffers.Binary;

namespace Vessel.Boot.Linux;

/// <summary>
/// A bzImage's setup header (boot.rst, "The Real-Mode Kernel Header"), validated for the 64-bit boot protocol.
/// Fields a kernel's protocol version predates read as the defaults boot.rst gives for it.
/// </summary>
public sealed class SetupHeader
{
    /// <summary>"HdrS", read little-endian from offset 0x202.</summary>
    public const uint HeaderMagic = 0x5372_6448;

    /// <summary>0xAA55 in boot_flag.</summary>
    public const ushort BootFlagMagic = 0xAA55;

    /// <summary>Protocol 2.12 (Linux 3.8) added xloadflags and with it XLF_KERNEL_64, the promise of the 64-bit entry at load address + 0x200.</summary>
    public const ushort MinimumVersion = 0x020C;

    /// <summary>Bytes in a setup sector (boot.rst: "a sector refers to 512 bytes").</summary>
    public const int SectorSize = 512;

    /// <summary>boot.rst: "if the setup_sects field contains 0, the real value is 4".</summary>
    public const int DefaultSetupSectors = 4;

    /// <summary>boot.rst: before protocol 2.06 the command line could hold at most 255 characters.</summary>
    public const uint LegacyCommandLineSize = 255;

    /// <summary>boot.rst, field initrd_addr_max: before protocol 2.03 the highest initrd address was 0x37FFFFFF.</summary>
    public const uint LegacyInitrdAddressMax = 0x37FF_FFFF;

    private const ushort Version203 = 0x0203;
    private const ushort Version205 = 0x0205;
    private const ushort Version206 = 0x0206;
    private const ushort Version210 = 0x020A;
    private const int SyssizeParagraph = 16;

    private readonly byte[] bytes;

    private SetupHeader(byte[] bytes, ReadOnlySpan<byte> image)
    {
        this.bytes = bytes;
        Version = BinaryPrimitives.ReadUInt16LittleEndian(image[SetupHeaderField.Version..]);
        int sectors = image[SetupHeaderField.SetupSectors];
        SetupSectors = sectors == 0 ? DefaultSetupSectors : sectors;
        SystemSize = (ulong)BinaryPrimitives.ReadUInt32LittleEndian(image[SetupHeaderField.SystemSize..]) * SyssizeParagraph;
        LoadFlags = (LoadFlags)image[SetupHeaderField.LoadFlags];
        ExtendedLoadFlags = (ExtendedLoadFlags)BinaryPrimitives.ReadUInt16LittleEndian(image[SetupHeaderField.ExtendedLoadFlags..]);
        Code32Start = BinaryPrimitives.ReadUInt32LittleEndian(image[SetupHeaderField.Code32Start..]);
        InitrdAddressMax = Version >= Version203 ? BinaryPrimitives.ReadUInt32LittleEndian(image[SetupHeaderField.InitrdAddressMax..]) : LegacyInitrdAddressMax;
        KernelAlignment = Version >= Version205 ? BinaryPrimitives.ReadUInt32LittleEndian(image[SetupHeaderField.KernelAlignment..]) : 0;
        Relocatable = Version >= Version205 && image[SetupHeaderField.RelocatableKernel] != 0;
        CommandLineSize = Version >= Version206 ? BinaryPrimitives.ReadUInt32LittleEndian(image[SetupHeaderField.CommandLineSize..]) : LegacyCommandLineSize;
        PreferredAddress = Version >= Version210 ? BinaryPrimitives.ReadUInt64LittleEndian(image[SetupHeaderField.PreferredAddress..]) : 0;
        InitSize = Version >= Version210 ? BinaryPrimitives.ReadUInt32LittleEndian(image[SetupHeaderField.InitSize..]) : 0;
    }

    /// <summary>version: (major &lt;&lt; 8) + minor.</summary>
    public ushort Version { get; }

    /// <summary>setup_sects with 0 read as 4.</summary>
    public int SetupSectors { get; }

    /// <summary>File offset of the protected-mode kernel: the boot sector plus the setup sectors.</summary>
    public int ProtectedModeOffset => (SetupSectors + 1) * SectorSize;

    /// <summary>syssize in bytes.</summary>
    public ulong SystemSize { get; }

    public LoadFlags LoadFlags { get; }

    public ExtendedLoadFlags ExtendedLoadFlags { get; }

    public uint Code32Start { get; }

    public uint InitrdAddressMax { get; }

    public uint KernelAlignment { get; }

    public bool Relocatable { get; }

    /// <summary>cmdline_size: the longest command line the kernel keeps, not counting the NUL.</summary>
    public uint CommandLineSize { get; }

    public ulong PreferredAddress { get; }

    public uint InitSize { get; }

    /// <summary>The header bytes from 0x1F1 to 0x202 + the jump byte, to copy into boot_params unchanged (boot.rst, "64-bit BOOT PROTOCOL").</summary>
    public ReadOnlySpan<byte> Bytes => bytes;

    public string VersionText => $"{Version >> 8}.{Version & 0xFF:d2}";

    /// <summary>Whether the file carries "HdrS" at 0x202, the mark of a bzImage-style kernel.</summary>
    public static bool HasMagic(ReadOnlySpan<byte> image) =>
        image.Length >= SetupHeaderField.Header + sizeof(uint)
        && BinaryPrimitives.ReadUInt32LittleEndian(image[SetupHeaderField.Header..]) == HeaderMagic;

    /// <summary>Reads and validates the header of a bzImage that is to be entered through its 64-bit entry point.</summary>
    public static SetupHeader Parse(ReadOnlySpan<byte> image)
    {
        if (!HasMagic(image))
        {
            throw new BootImageException("Not a bzImage: the setup header magic \"HdrS\" is missing at offset 0x202.");
        }

        if (image.Length < SetupHeaderField.End215)
        {
            throw new BootImageException($"bzImage is {image.Length} bytes, too short to hold the setup header (0x1f1-0x{SetupHeaderField.End215:x}): the file is truncated.");
        }

        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(image[SetupHeaderField.Version..]);
        var loadFlags = (LoadFlags)image[SetupHeaderField.LoadFlags];
        var extended = (ExtendedLoadFlags)BinaryPrimitives.ReadUInt16LittleEndian(image[SetupHeaderField.ExtendedLoadFlags..]);
        string versionText = $"{version >> 8}.{version & 0xFF:d2}";
        if (version < MinimumVersion)
        {
            throw new BootImageException(
                $"bzImage boot protocol version {versionText} (field version at 0x206) is older than 2.12: Vessel enters Linux through the 64-bit entry point, "
                + "which kernels announce with XLF_KERNEL_64 from protocol 2.12 (Linux 3.8) on. Use a newer kernel, or its uncompressed vmlinux.");
        }

        if ((loadFlags & LoadFlags.LoadedHigh) == 0)
        {
            throw new BootImageException("Kernel has loadflags (0x211) without LOADED_HIGH: it is a zImage that must load at 0x10000, which Vessel does not support. Build a bzImage.");
        }

        if ((extended & ExtendedLoadFlags.Kernel64) == 0)
        {
            throw new BootImageException(
                $"bzImage (boot protocol {versionText}) has xloadflags (0x236) = 0x{(ushort)extended:x} without XLF_KERNEL_64: it has no 64-bit entry point, "
                + "so it is a 32-bit kernel. Vessel boots x86-64 kernels; build with CONFIG_X86_64=y.");
        }

        int headerEnd = SetupHeaderField.Header + image[SetupHeaderField.JumpOffset];
        int sectors = image[SetupHeaderField.SetupSectors];
        int protectedModeOffset = ((sectors == 0 ? DefaultSetupSectors : sectors) + 1) * SectorSize;
        if (headerEnd < SetupHeaderField.InitSize + sizeof(uint) || headerEnd > SetupHeaderField.Limit || headerEnd > protectedModeOffset)
        {
            throw new BootImageException(
                $"bzImage setup header ends at 0x{headerEnd:x} (0x202 + the jump byte at 0x201), which is not between the end of a 2.12 header "
                + $"(0x{SetupHeaderField.InitSize + sizeof(uint):x}) and the end of the header area (0x{SetupHeaderField.Limit:x}) and inside the setup code (0x{protectedModeOffset:x}): the file is corrupt.");
        }

        var header = new SetupHeader(image[SetupHeaderField.Start..headerEnd].ToArray(), image);
        if ((ulong)image.Length <= (ulong)header.ProtectedModeOffset)
        {
            throw new BootImageException(
                $"bzImage is {image.Length} bytes but its setup code alone takes {header.ProtectedModeOffset} bytes ((setup_sects {header.SetupSectors} + 1) * 512): "
                + "the protected-mode kernel is missing, the file is truncated.");
        }

        ulong available = (ulong)image.Length - (ulong)header.ProtectedModeOffset;
        if (header.SystemSize > available)
        {
            throw new BootImageException(
                $"bzImage is truncated: syssize (0x1f4) says the protected-mode kernel is {header.SystemSize} bytes, "
                + $"but only {available} bytes follow the setup code at 0x{header.ProtectedModeOffset:x}. Copy the kernel file again.");
        }

        return header;
    }
}

using System.Buffers.Binary;
using Vessel.Boot.Elf;
using Vessel.Boot.Linux;
using Vessel.Boot.Multiboot;
using Vessel.Core.Files;

namespace Vessel.Boot;

/// <summary>A kernel file in host memory, with its format recognized from its magic numbers.</summary>
public sealed class KernelImage
{
    private const uint GzipMagic = 0x8B1F;
    private const uint ZstdMagic = 0xFD2F_B528;
    private const ulong XzMagic = 0x005A_587A_37FD;
    private const ulong XzMagicMask = 0xFFFF_FFFF_FFFF;
    private const ushort DosMagic = 0x5A4D;
    private const int ArmImageMagicOffset = 0x38;
    private const uint ArmImageMagic = 0x644D_5241;
    private const int PreviewBytes = 16;

    private KernelImage(string name, ReadOnlyMemory<byte> bytes, KernelImageFormat format)
    {
        Name = name;
        Bytes = bytes;
        Format = format;
    }

    /// <summary>Where the image came from, for messages.</summary>
    public string Name { get; }

    public ReadOnlyMemory<byte> Bytes { get; }

    public KernelImageFormat Format { get; }

    /// <summary>The kernel mapping stock x86-64 Linux links vmlinux at (__START_KERNEL_map, arch/x86/include/asm/page_64_types.h).</summary>
    public const ulong LinuxKernelMapStart = 0xFFFF_FFFF_8000_0000;

    /// <summary>
    /// Whether this looks like a stock Linux kernel: any bzImage, or an ELF64 whose loadable segments are linked in the
    /// kernel map Linux uses (bare-metal test programs and multiboot kernels are not). A PVM guest kernel is linked
    /// elsewhere, so its vmlinux is not taken for a stock one; a bzImage's payload is compressed and cannot be told apart.
    /// </summary>
    public bool IsStockLinux => Format switch
    {
        KernelImageFormat.BzImage => true,
        KernelImageFormat.Elf64 => Elf.ElfFile.Parse(Bytes.Span).ProgramHeaders
            .Any(header => header.Type == Elf.ElfProgramHeaderType.Load && header.VirtualAddress >= LinuxKernelMapStart),
        _ => false,
    };

    /// <summary>
    /// Reads a kernel file of at most <paramref name="maxBytes"/> and recognizes it; a missing, unreadable, oversized or
    /// non-regular file (a FIFO, /dev/zero) becomes a <see cref="BootImageException"/> before more than that is read.
    /// </summary>
    public static KernelImage FromFile(string path, long maxBytes)
    {
        byte[] bytes;
        try
        {
            bytes = HostFile.ReadAll(path, "kernel image", "a vmlinux, bzImage or multiboot image", maxBytes, "the limit given");
        }
        catch (HostFileException exception)
        {
            throw new BootImageException($"Cannot read kernel image '{path}': {exception.Message}", exception);
        }

        return FromBytes(bytes, path);
    }

    public static KernelImage FromBytes(ReadOnlyMemory<byte> bytes, string name = "kernel image")
    {
        try
        {
            return new KernelImage(name, bytes, Detect(bytes.Span));
        }
        catch (BootImageException exception)
        {
            throw new BootImageException($"{name}: {exception.Message}", exception);
        }
    }

    /// <summary>
    /// ELF with a multiboot header is multiboot (kvm-unit-tests' .flat files are ELF32 with one); other ELF64 is a Linux vmlinux or
    /// bare-metal program for the 64-bit protocol; "HdrS" at 0x202 is a bzImage; anything else with a multiboot header must use the a.out kludge.
    /// </summary>
    public static KernelImageFormat Detect(ReadOnlySpan<byte> image)
    {
        bool multiboot = MultibootHeader.TryFind(image, out _);
        if (ElfFile.HasMagic(image))
        {
            if (multiboot)
            {
                return KernelImageFormat.MultibootElf;
            }

            var elf = ElfFile.Parse(image);
            if (elf.Header.Class == ElfClass.Elf32)
            {
                throw new BootImageException(
                    "This is a 32-bit (ELF32, i386) executable without a multiboot header. Vessel boots 32-bit ELF kernels only through multiboot, "
                    + "and Linux as x86-64 (vmlinux ELF64 or bzImage). Add a multiboot header or build for x86-64.");
            }

            return KernelImageFormat.Elf64;
        }

        if (SetupHeader.HasMagic(image))
        {
            return KernelImageFormat.BzImage;
        }

        if (multiboot)
        {
            return KernelImageFormat.MultibootAout;
        }

        throw new BootImageException($"Not a kernel Vessel can boot: {Describe(image)}. Vessel boots a Linux bzImage, an x86-64 ELF (vmlinux), or a multiboot kernel.");
    }

    private static string Describe(ReadOnlySpan<byte> image)
    {
        if (image.IsEmpty)
        {
            return "the file is empty";
        }

        if (image.Length >= sizeof(ushort) && BinaryPrimitives.ReadUInt16LittleEndian(image) == GzipMagic)
        {
            return "it is gzip-compressed data (an initramfs or a compressed vmlinux?); decompress a vmlinux with gunzip, or pass an initramfs as the initrd";
        }

        if (image.Length >= sizeof(ulong) && (BinaryPrimitives.ReadUInt64LittleEndian(image) & XzMagicMask) == XzMagic)
        {
            return "it is xz-compressed data; decompress it first (xz -d)";
        }

        if (image.Length >= sizeof(uint) && BinaryPrimitives.ReadUInt32LittleEndian(image) == ZstdMagic)
        {
            return "it is zstd-compressed data; decompress it first (zstd -d)";
        }

        if (image.StartsWith("070701"u8) || image.StartsWith("070702"u8))
        {
            return "it is a cpio archive (an initramfs); pass it as the initrd, not the kernel";
        }

        if (image.Length >= ArmImageMagicOffset + sizeof(uint) && BinaryPrimitives.ReadUInt32LittleEndian(image[ArmImageMagicOffset..]) == ArmImageMagic)
        {
            return "it is an ARM64 Linux Image (\"ARM\\x64\" at 0x38); use an x86-64 kernel";
        }

        if (image.Length >= sizeof(ushort) && BinaryPrimitives.ReadUInt16LittleEndian(image) == DosMagic)
        {
            return "it is a PE/COFF (\"MZ\") executable without a Linux setup header (\"HdrS\" at 0x202), such as an EFI application";
        }

        return $"no ELF magic, no \"HdrS\" at 0x202 and no multiboot header in the first 8 KiB; it starts with {Convert.ToHexString(image[..Math.Min(image.Length, PreviewBytes)])}";
    }
}

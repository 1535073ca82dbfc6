using Vessel.Testing.Images;
using Vessel.Boot.Tests.Fixtures;
using Vessel.Core.Memory;

namespace Vessel.Boot.Tests;

public sealed class KernelImageTests
{
    [Fact]
    public void Each_format_is_recognized_by_its_magic()
    {
        var vmlinux = new ElfBuilder { Entry = 0x100_0000 };
        vmlinux.Segments.Add(new ElfSegment(0x100_0000, [0x90], 1));
        var flat = new ElfBuilder { Is64 = false, Entry = 0x40_0000 };
        flat.Segments.Add(new ElfSegment(0x40_0000, MultibootHeaderBuilder.CodeWithHeader(0x40), 0x40));
        var aout = new byte[0x100];
        MultibootHeaderBuilder.Build(0x1_0000, 0x10_0000, 0x10_0000, 0, 0, 0x10_0000).CopyTo(aout, 0);

        Assert.Equal(KernelImageFormat.Elf64, KernelImage.FromBytes(vmlinux.Build()).Format);
        Assert.Equal(KernelImageFormat.BzImage, KernelImage.FromBytes(new BzImageBuilder().Build()).Format);
        Assert.Equal(KernelImageFormat.MultibootElf, KernelImage.FromBytes(flat.Build()).Format);
        Assert.Equal(KernelImageFormat.MultibootAout, KernelImage.FromBytes(aout).Format);
    }

    [Fact]
    public void An_elf32_file_without_a_multiboot_header_is_refused_with_what_to_do()
    {
        var elf = new ElfBuilder { Is64 = false, Entry = 0x40_0000 };
        elf.Segments.Add(new ElfSegment(0x40_0000, [0x90], 1));

        var error = Assert.Throws<BootImageException>(() => KernelImage.FromBytes(elf.Build(), "kernel32.elf"));

        Assert.StartsWith("kernel32.elf: This is a 32-bit (ELF32, i386) executable without a multiboot header", error.Message);
    }

    [Theory]
    [InlineData(new byte[0], "the file is empty")]
    [InlineData(new byte[] { 0x1F, 0x8B, 8, 0 }, "gzip-compressed")]
    [InlineData(new byte[] { 0xFD, 0x37, 0x7A, 0x58, 0x5A, 0, 0, 0 }, "xz-compressed")]
    [InlineData(new byte[] { 0x28, 0xB5, 0x2F, 0xFD }, "zstd-compressed")]
    [InlineData(new byte[] { 0x30, 0x37, 0x30, 0x37, 0x30, 0x31, 0x30 }, "cpio archive")]
    [InlineData(new byte[] { 0x4D, 0x5A, 0, 0 }, "PE/COFF")]
    [InlineData(new byte[] { 0xDE, 0xAD, 0xBE, 0xEF }, "it starts with DEADBEEF")]
    public void A_file_that_is_not_a_kernel_is_refused_saying_what_it_looks_like(byte[] image, string expected)
    {
        var error = Assert.Throws<BootImageException>(() => KernelImage.FromBytes(image, "disk.img"));

        Assert.StartsWith("disk.img: Not a kernel Vessel can boot", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void An_arm64_image_is_named_as_such()
    {
        var image = new byte[0x40];
        "ARM\x64"u8.CopyTo(image.AsSpan(0x38));

        var error = Assert.Throws<BootImageException>(() => KernelImage.FromBytes(image));

        Assert.Contains("ARM64 Linux Image", error.Message);
    }

    [Fact]
    public void A_missing_kernel_file_is_reported_with_its_path()
    {
        string path = Path.Combine(Path.GetTempPath(), $"vessel-missing-{Guid.NewGuid():N}");

        var error = Assert.Throws<BootImageException>(() => KernelImage.FromFile(path, 64L << 20));

        Assert.StartsWith($"Cannot read kernel image '{path}'", error.Message);
    }

    [Fact]
    public void A_kernel_file_is_read_and_recognized()
    {
        string path = Path.Combine(Path.GetTempPath(), $"vessel-bzimage-{Guid.NewGuid():N}");
        File.WriteAllBytes(path, new BzImageBuilder().Build());
        try
        {
            var kernel = KernelImage.FromFile(path, 64L << 20);

            Assert.Equal(KernelImageFormat.BzImage, kernel.Format);
            Assert.Equal(path, kernel.Name);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Load_errors_start_with_the_image_name()
    {
        using var memory = GuestMemory.Create(GuestMemoryReader.SixtyFourMiB);
        var kernel = KernelImage.FromBytes(new BzImageBuilder { CommandLineSize = 3 }.Build(), "bzImage-6.1");

        var error = Assert.Throws<BootImageException>(() => KernelLoader.Load(memory, kernel, new KernelLoadOptions { CommandLine = "quiet" }));

        Assert.StartsWith("bzImage-6.1: The kernel command line is 5 bytes", error.Message);
    }
}

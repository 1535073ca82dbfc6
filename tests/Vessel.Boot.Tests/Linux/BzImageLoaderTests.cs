using Vessel.Boot.Linux;
using Vessel.Boot.Tests.Fixtures;
using Vessel.Core.Accel;
using Vessel.Core.Memory;

namespace Vessel.Boot.Tests.Linux;

public sealed class BzImageLoaderTests : IDisposable
{
    private const ulong ZeroPage = 0x7000;
    private readonly GuestMemory memory = GuestMemory.Create(GuestMemoryReader.SixtyFourMiB);

    public void Dispose() => memory.Dispose();

    [Fact]
    public void The_protected_mode_kernel_is_copied_to_1_mib_and_entered_0x200_past_it()
    {
        var builder = new BzImageBuilder();

        var kernel = Load(builder);

        Assert.Equal(KernelImageFormat.BzImage, kernel.Format);
        Assert.Equal(builder.ProtectedModeKernel, memory.Bytes(0x10_0000, builder.ProtectedModeKernel.Length));
        Assert.Equal(0x10_0200UL, kernel.Entry);
        Assert.Equal(0x10_0200UL, kernel.BootState.Rip);
        Assert.Equal(SegmentState.FlatCode64(0x10), kernel.BootState.Cs);
    }

    [Fact]
    public void The_kernels_setup_header_is_copied_into_the_zero_page_with_the_loader_fields_written_over_it()
    {
        Load(new BzImageBuilder(), new KernelLoadOptions { CommandLine = "quiet" });

        Assert.Equal(4, memory.U8(ZeroPage + 0x1F1));
        Assert.Equal(0x020F, memory.U16(ZeroPage + 0x206));
        Assert.Equal(0x6A, memory.U8(ZeroPage + 0x201));
        Assert.Equal(3, memory.U16(ZeroPage + 0x236));
        Assert.Equal(2047u, memory.U32(ZeroPage + 0x238));
        Assert.Equal(0x40_0000u, memory.U32(ZeroPage + 0x260));
        Assert.Equal(0xFF, memory.U8(ZeroPage + 0x210));
        Assert.Equal(0x20000u, memory.U32(ZeroPage + 0x228));
        Assert.Equal(0u, memory.U32(ZeroPage + 0x26C));
    }

    [Fact]
    public void Setup_sects_of_zero_means_four_sectors()
    {
        var builder = new BzImageBuilder { SetupSectors = 0 };

        Load(builder);

        Assert.Equal(5 * 512, builder.ProtectedModeOffset);
        Assert.Equal(builder.ProtectedModeKernel, memory.Bytes(0x10_0000, builder.ProtectedModeKernel.Length));
    }

    [Fact]
    public void The_initrd_stays_below_initrd_addr_max()
    {
        var builder = new BzImageBuilder { InitrdAddressMax = 0x2FF_FFFF };

        var kernel = Load(builder, new KernelLoadOptions { Initrd = new byte[0x1800] });

        Assert.Equal(0x300_0000UL - 0x2000, kernel.InitrdAddress);
    }

    [Fact]
    public void The_initrd_is_kept_out_of_the_area_the_kernel_decompresses_into()
    {
        var builder = new BzImageBuilder { InitSize = 0x300_0000 };

        var error = Assert.Throws<BootImageException>(() => Load(builder, new KernelLoadOptions { Initrd = new byte[0x1000] }));

        Assert.Contains("does not fit between the end of the kernel at 0x4000000", error.Message);
        Assert.Contains("initrd_addr_max", error.Message);
    }

    [Fact]
    public void A_kernel_whose_init_size_exceeds_guest_ram_is_refused_with_advice()
    {
        var builder = new BzImageBuilder { InitSize = 0x800_0000 };

        var error = Assert.Throws<BootImageException>(() => Load(builder));

        Assert.Contains("init_size 0x8000000", error.Message);
        Assert.Contains("Give the guest more memory", error.Message);
    }

    [Fact]
    public void A_command_line_longer_than_the_kernels_cmdline_size_is_refused()
    {
        var builder = new BzImageBuilder { CommandLineSize = 10 };

        var error = Assert.Throws<BootImageException>(() => Load(builder, new KernelLoadOptions { CommandLine = "console=ttyS0" }));

        Assert.Contains("13 bytes", error.Message);
        Assert.Contains("at most 10 (cmdline_size at offset 0x238", error.Message);
    }

    [Fact]
    public void A_boot_protocol_older_than_2_12_is_refused_naming_the_version()
    {
        var error = Assert.Throws<BootImageException>(() => Load(new BzImageBuilder { Version = 0x020B, ExtendedLoadFlags = 0 }));

        Assert.Contains("boot protocol version 2.11", error.Message);
        Assert.Contains("older than 2.12", error.Message);
    }

    [Fact]
    public void A_kernel_without_a_64_bit_entry_point_is_refused_as_32_bit()
    {
        var error = Assert.Throws<BootImageException>(() => Load(new BzImageBuilder { ExtendedLoadFlags = 0 }));

        Assert.Contains("without XLF_KERNEL_64", error.Message);
        Assert.Contains("32-bit kernel", error.Message);
    }

    [Fact]
    public void A_zimage_is_refused()
    {
        var error = Assert.Throws<BootImageException>(() => Load(new BzImageBuilder { LoadFlags = 0 }));

        Assert.Contains("zImage", error.Message);
    }

    [Fact]
    public void A_kernel_shorter_than_its_syssize_is_reported_as_truncated()
    {
        var error = Assert.Throws<BootImageException>(() => Load(new BzImageBuilder { Truncate = 100 }));

        Assert.Contains("bzImage is truncated: syssize (0x1f4)", error.Message);
    }

    [Fact]
    public void A_file_that_ends_with_the_setup_code_is_reported_as_missing_its_kernel()
    {
        var error = Assert.Throws<BootImageException>(() => Load(new BzImageBuilder { ProtectedModeKernel = [] }));

        Assert.Contains("the protected-mode kernel is missing", error.Message);
    }

    [Fact]
    public void A_file_cut_inside_the_setup_header_is_reported_as_truncated()
    {
        var image = new BzImageBuilder().Build()[..0x240];

        var error = Assert.Throws<BootImageException>(() => BzImageLoader.Load(memory, image));

        Assert.Contains("too short to hold the setup header", error.Message);
    }

    [Fact]
    public void A_setup_header_length_that_runs_past_the_header_area_is_refused()
    {
        var error = Assert.Throws<BootImageException>(() => Load(new BzImageBuilder { JumpOffset = 0xF0 }));

        Assert.Contains("jump byte at 0x201", error.Message);
    }

    private LoadedKernel Load(BzImageBuilder builder, KernelLoadOptions? options = null) =>
        KernelLoader.Load(memory, KernelImage.FromBytes(builder.Build(), "bzImage"), options);
}

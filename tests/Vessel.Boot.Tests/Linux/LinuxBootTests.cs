using Vessel.Testing.Images;
using Vessel.Boot.Layout;
using Vessel.Boot.Tests.Fixtures;
using Vessel.Core.Accel;
using Vessel.Core.Memory;

namespace Vessel.Boot.Tests.Linux;

public sealed class LinuxBootTests : IDisposable
{
    private const ulong ZeroPage = 0x7000;
    private const ulong KernelEntry = 0x100_0000;
    private readonly GuestMemory memory = GuestMemory.Create(GuestMemoryReader.SixtyFourMiB);

    public void Dispose() => memory.Dispose();

    [Fact]
    public void A_vmlinux_gets_the_setup_header_fields_a_boot_loader_must_write()
    {
        var kernel = Load(new KernelLoadOptions { CommandLine = "console=ttyS0 reboot=k" });

        Assert.Equal(BootProtocol.Linux64, kernel.Protocol);
        Assert.Equal(KernelImageFormat.Elf64, kernel.Format);
        Assert.Equal(0xFF, memory.U8(ZeroPage + 0x210));
        Assert.Equal(0xAA55, memory.U16(ZeroPage + 0x1FE));
        Assert.Equal(0x53726448u, memory.U32(ZeroPage + 0x202));
        Assert.Equal(0x20000u, memory.U32(ZeroPage + 0x228));
        Assert.Equal(0u, memory.U32(ZeroPage + 0xC8));
        Assert.Equal(0x100_0000u, memory.U32(ZeroPage + 0x230));
        Assert.Equal((uint)"console=ttyS0 reboot=k".Length + 1, memory.U32(ZeroPage + 0x238));
        Assert.Equal(0x01, memory.U8(ZeroPage + 0x211));
        Assert.Equal(0u, memory.U32(ZeroPage + 0x218));
        Assert.Equal(0u, memory.U32(ZeroPage + 0x21C));
        Assert.Equal("console=ttyS0 reboot=k", memory.CString(0x20000));
    }

    [Fact]
    public void The_e820_table_in_the_zero_page_matches_guest_ram_with_the_low_bios_area_reserved()
    {
        Load();

        Assert.Equal(3, memory.U8(ZeroPage + 0x1E8));
        AssertE820(0, 0x0, 0x9FC00, E820Type.Ram);
        AssertE820(1, 0x9FC00, 0x100000 - 0x9FC00, E820Type.Reserved);
        AssertE820(2, 0x100000, GuestMemoryReader.SixtyFourMiB - 0x100000, E820Type.Ram);
    }

    [Fact]
    public void Reserved_ranges_in_the_mmio_hole_join_the_e820_table_in_address_order()
    {
        var ecam = new E820Entry(0xE000_0000, 0x1000_0000, E820Type.Reserved);

        Load(new KernelLoadOptions { ReservedRanges = [ecam] });

        Assert.Equal(4, memory.U8(ZeroPage + 0x1E8));
        AssertE820(3, 0xE000_0000, 0x1000_0000, E820Type.Reserved);
    }

    [Fact]
    public void The_acpi_rsdp_address_is_passed_in_the_zero_page_when_given()
    {
        Load(new KernelLoadOptions { AcpiRsdpAddress = BootLayout.AcpiRsdpAddress });

        Assert.Equal(0xE0000UL, memory.U64(ZeroPage + 0x70));
    }

    [Fact]
    public void The_page_tables_identity_map_the_first_gibibyte_with_2_mib_pages()
    {
        Load();

        Assert.Equal(0xA003UL, memory.U64(0x9000));
        Assert.Equal(0UL, memory.U64(0x9008));
        Assert.Equal(0xB003UL, memory.U64(0xA000));
        Assert.Equal(0UL, memory.U64(0xA008));
        Assert.Equal(0x83UL, memory.U64(0xB000));
        Assert.Equal((1UL << 21) | 0x83, memory.U64(0xB008));
        Assert.Equal((511UL << 21) | 0x83, memory.U64(0xB000 + (511 * 8)));
    }

    [Fact]
    public void The_gdt_holds_flat_64_bit_code_at_0x10_flat_data_at_0x18_and_a_busy_tss_at_0x20()
    {
        Load();

        Assert.Equal(0UL, memory.U64(0x500));
        Assert.Equal(0UL, memory.U64(0x508));
        Assert.Equal(0x00AF_9B00_0000_FFFFUL, memory.U64(0x510));
        Assert.Equal(0x00CF_9300_0000_FFFFUL, memory.U64(0x518));
        Assert.Equal(0x0000_8B00_0000_0067UL, memory.U64(0x520));
        Assert.Equal(0UL, memory.U64(0x528));
    }

    [Fact]
    public void The_boot_vcpu_starts_in_long_mode_at_the_entry_with_rsi_pointing_at_the_zero_page()
    {
        var state = Load().BootState;

        Assert.Equal(KernelEntry, state.Rip);
        Assert.Equal(ZeroPage, state.Rsi);
        Assert.Equal(0x8FF0UL, state.Rsp);
        Assert.Equal(0x8FF0UL, state.Rbp);
        Assert.Equal(2UL, state.Rflags);
        Assert.Equal(0x8000_0011UL, state.Cr0);
        Assert.Equal(0x9000UL, state.Cr3);
        Assert.Equal(0x20UL, state.Cr4);
        Assert.Equal(0x500UL, state.Efer);
        Assert.Equal(SegmentState.FlatCode64(0x10), state.Cs);
        foreach (var data in new[] { state.Ds, state.Es, state.Fs, state.Gs, state.Ss })
        {
            Assert.Equal(SegmentState.FlatData(0x18), data);
        }

        Assert.Equal(0x20, state.Tr.Selector);
        Assert.Equal(new DescriptorTableState(0x500, 0x2F), state.Gdt);
        Assert.Equal(0, state.Idt.Limit);
        Assert.False(state.WaitForStartup);
    }

    [Fact]
    public void The_initrd_goes_page_aligned_to_the_top_of_low_ram_and_its_place_is_in_the_zero_page()
    {
        var initrd = BzImageBuilder.MakeKernel(10_000);

        var kernel = Load(new KernelLoadOptions { Initrd = initrd });

        ulong expected = (GuestMemoryReader.SixtyFourMiB - 10_000) & ~0xFFFUL;
        Assert.Equal(expected, kernel.InitrdAddress);
        Assert.Equal(10_000UL, kernel.InitrdSize);
        Assert.Equal((uint)expected, memory.U32(ZeroPage + 0x218));
        Assert.Equal(10_000u, memory.U32(ZeroPage + 0x21C));
        Assert.Equal(0u, memory.U32(ZeroPage + 0xC0));
        Assert.Equal(initrd, memory.Bytes(expected, initrd.Length));
    }

    [Fact]
    public void An_initrd_that_does_not_fit_above_the_kernel_is_refused_with_advice()
    {
        var initrd = new byte[60 << 20];

        var error = Assert.Throws<BootImageException>(() => Load(new KernelLoadOptions { Initrd = initrd }));

        Assert.Contains("The initrd is 62914560 bytes and does not fit", error.Message);
        Assert.Contains("Give the guest more memory", error.Message);
    }

    [Fact]
    public void A_command_line_longer_than_an_elf_kernel_takes_is_refused()
    {
        var error = Assert.Throws<BootImageException>(() => Load(new KernelLoadOptions { CommandLine = new string('a', 2048) }));

        Assert.Contains("The kernel command line is 2048 bytes", error.Message);
        Assert.Contains("at most 2047", error.Message);
        Assert.Contains("Shorten", error.Message);
    }

    [Fact]
    public void A_command_line_of_exactly_2047_bytes_fits()
    {
        Load(new KernelLoadOptions { CommandLine = new string('a', 2047) });

        Assert.Equal(0, memory.U8(0x20000 + 2047));
    }

    [Fact]
    public void A_command_line_with_a_nul_inside_is_refused()
    {
        var error = Assert.Throws<BootImageException>(() => Load(new KernelLoadOptions { CommandLine = "a\0b" }));

        Assert.Contains("NUL", error.Message);
    }

    private LoadedKernel Load(KernelLoadOptions? options = null)
    {
        var elf = new ElfBuilder { Entry = KernelEntry };
        elf.Segments.Add(new ElfSegment(KernelEntry, BzImageBuilder.MakeKernel(0x2000), 0x10_0000, VirtualAddress: 0xFFFF_FFFF_8100_0000));
        return KernelLoader.Load(memory, KernelImage.FromBytes(elf.Build(), "vmlinux"), options);
    }

    private void AssertE820(int index, ulong address, ulong size, E820Type type)
    {
        ulong entry = ZeroPage + 0x2D0 + (ulong)(index * 20);
        Assert.Equal(address, memory.U64(entry));
        Assert.Equal(size, memory.U64(entry + 8));
        Assert.Equal((uint)type, memory.U32(entry + 16));
    }
}

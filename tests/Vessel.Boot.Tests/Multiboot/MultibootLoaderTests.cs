using Vessel.Testing.Images;
using Vessel.Boot.Multiboot;
using Vessel.Boot.Tests.Fixtures;
using Vessel.Core.Accel;
using Vessel.Core.Memory;

namespace Vessel.Boot.Tests.Multiboot;

public sealed class MultibootLoaderTests : IDisposable
{
    private const ulong Info = 0x6000;
    private const ulong TextStart = 0x40_0000;
    private const ulong DataStart = 0x40_1000;
    private const ulong BssEnd = 0x40_4000;
    private readonly GuestMemory memory = GuestMemory.Create(GuestMemoryReader.SixtyFourMiB);

    public void Dispose() => memory.Dispose();

    [Fact]
    public void A_kvm_unit_tests_style_elf32_flat_file_loads_through_its_program_headers()
    {
        var text = MultibootHeaderBuilder.CodeWithHeader(0x200);
        var data = new byte[] { 0xAB, 0xCD };

        var kernel = Load(Flat(text, data));

        Assert.Equal(KernelImageFormat.MultibootElf, kernel.Format);
        Assert.Equal(BootProtocol.Multiboot, kernel.Protocol);
        Assert.Equal(text, memory.Bytes(TextStart, text.Length));
        Assert.Equal(data, memory.Bytes(DataStart, data.Length));
        Assert.Equal(0, memory.U8(DataStart + 2));
        Assert.Equal(BssEnd, kernel.KernelEnd);
    }

    [Fact]
    public void The_boot_vcpu_starts_in_flat_32_bit_protected_mode_with_the_multiboot_magic_and_info_address()
    {
        var state = Load(Flat(MultibootHeaderBuilder.CodeWithHeader(0x200), [1])).BootState;

        Assert.Equal(0x2BADB002UL, state.Rax);
        Assert.Equal(Info, state.Rbx);
        Assert.Equal(TextStart + 0xC, state.Rip);
        Assert.Equal(0x11UL, state.Cr0);
        Assert.Equal(0UL, state.Cr4);
        Assert.Equal(0UL, state.Efer);
        Assert.Equal(2UL, state.Rflags);
        Assert.Equal(SegmentState.FlatCode32(0x10), state.Cs);
        Assert.Equal(SegmentState.FlatData(0x18), state.Ss);
        Assert.Equal(SegmentState.FlatData(0x18), state.Ds);
        Assert.Equal(new DescriptorTableState(0x500, 0x27), state.Gdt);
        Assert.Equal(0x00CF_9B00_0000_FFFFUL, memory.U64(0x510));
        Assert.Equal(0x00CF_9300_0000_FFFFUL, memory.U64(0x518));
        Assert.Equal(0x0000_8B00_0000_0067UL, memory.U64(0x520));
    }

    [Fact]
    public void The_information_structure_carries_memory_sizes_command_line_memory_map_and_loader_name()
    {
        Load(Flat(MultibootHeaderBuilder.CodeWithHeader(0x200), [1]), new KernelLoadOptions { CommandLine = "-smp 1 ipi" });

        Assert.Equal(0x1u | 0x4 | 0x40 | 0x200, memory.U32(Info));
        Assert.Equal(639u, memory.U32(Info + 4));
        Assert.Equal((uint)((GuestMemoryReader.SixtyFourMiB - 0x10_0000) / 1024), memory.U32(Info + 8));
        // Like QEMU and GRUB, the kernel's name is the first word: kvm-unit-tests takes it as argv[0].
        Assert.Equal("test.flat -smp 1 ipi", memory.CString(memory.U32(Info + 16)));
        Assert.Equal("Vessel", memory.CString(memory.U32(Info + 64)));

        Assert.Equal(3u * 24, memory.U32(Info + 44));
        ulong map = memory.U32(Info + 48);
        Assert.Equal(20u, memory.U32(map));
        Assert.Equal(0UL, memory.U64(map + 4));
        Assert.Equal(0x9FC00UL, memory.U64(map + 12));
        Assert.Equal(1u, memory.U32(map + 20));
        Assert.Equal(0x9FC00UL, memory.U64(map + 24 + 4));
        Assert.Equal(2u, memory.U32(map + 24 + 20));
        Assert.Equal(0x10_0000UL, memory.U64(map + 48 + 4));
        Assert.Equal(GuestMemoryReader.SixtyFourMiB - 0x10_0000, memory.U64(map + 48 + 12));
        Assert.Equal(1u, memory.U32(map + 48 + 20));
    }

    [Fact]
    public void Modules_are_placed_page_aligned_above_the_kernel_and_listed_with_their_strings()
    {
        var first = BzImageBuilder.MakeKernel(100);
        var second = BzImageBuilder.MakeKernel(0x1234);
        var options = new KernelLoadOptions { Modules = [new MultibootModule(first, "env"), new MultibootModule(second, "disk.img ro")] };

        Load(Flat(MultibootHeaderBuilder.CodeWithHeader(0x200), [1]), options);

        Assert.Equal(0x1u | 0x4 | 0x8 | 0x40 | 0x200, memory.U32(Info));
        Assert.Equal(2u, memory.U32(Info + 20));
        ulong list = memory.U32(Info + 24);
        Assert.Equal((uint)BssEnd, memory.U32(list));
        Assert.Equal((uint)BssEnd + 100, memory.U32(list + 4));
        Assert.Equal("env", memory.CString(memory.U32(list + 8)));
        Assert.Equal((uint)BssEnd + 0x1000, memory.U32(list + 16));
        Assert.Equal((uint)BssEnd + 0x1000 + 0x1234, memory.U32(list + 20));
        Assert.Equal("disk.img ro", memory.CString(memory.U32(list + 24)));
        Assert.Equal(first, memory.Bytes(BssEnd, first.Length));
        Assert.Equal(second, memory.Bytes(BssEnd + 0x1000, second.Length));
    }

    [Fact]
    public void An_initrd_becomes_the_single_module_as_with_qemus_initrd_option()
    {
        var initrd = new byte[] { 5, 6, 7 };

        Load(Flat(MultibootHeaderBuilder.CodeWithHeader(0x200), [1]), new KernelLoadOptions { Initrd = initrd });

        Assert.Equal(1u, memory.U32(Info + 20));
        ulong list = memory.U32(Info + 24);
        Assert.Equal(initrd, memory.Bytes(memory.U32(list), 3));
    }

    [Fact]
    public void A_module_that_does_not_fit_in_low_ram_is_refused_with_advice()
    {
        var options = new KernelLoadOptions { Modules = [new MultibootModule(new byte[64 << 20], "huge")] };

        var error = Assert.Throws<BootImageException>(() => Load(Flat(MultibootHeaderBuilder.CodeWithHeader(0x200), [1]), options));

        Assert.Contains("Multiboot module 0 (\"huge\", 67108864 bytes) does not fit", error.Message);
        Assert.Contains("Give the guest more memory", error.Message);
    }

    [Fact]
    public void An_elf64_kernel_with_a_multiboot_header_is_loaded_as_multiboot()
    {
        var elf = new ElfBuilder { Entry = TextStart };
        elf.Segments.Add(new ElfSegment(TextStart, MultibootHeaderBuilder.CodeWithHeader(0x40), 0x40));

        var kernel = Load(elf.Build());

        Assert.Equal(KernelImageFormat.MultibootElf, kernel.Format);
        Assert.Equal(SegmentState.FlatCode32(0x10), kernel.BootState.Cs);
    }

    [Fact]
    public void The_aout_kludge_loads_from_the_file_offset_the_header_addresses_imply_and_zeroes_the_bss()
    {
        var image = BzImageBuilder.MakeKernel(0x800);
        MultibootHeaderBuilder.Build(0x1_0003, headerAddress: 0x10_0040, loadAddress: 0x10_0000, loadEndAddress: 0, bssEndAddress: 0x10_3000, entryAddress: 0x10_0080)
            .CopyTo(image, 0x40);
        memory.GetSpan(new GuestAddress(0x10_0800), 0x2800).Fill(0xCC);

        var kernel = Load(image);

        Assert.Equal(KernelImageFormat.MultibootAout, kernel.Format);
        Assert.Equal(image, memory.Bytes(0x10_0000, image.Length));
        Assert.All(memory.Bytes(0x10_0800, 0x2800), b => Assert.Equal(0, b));
        Assert.Equal(0x10_0080UL, kernel.BootState.Rip);
        Assert.Equal(0x10_3000UL, kernel.KernelEnd);
    }

    [Fact]
    public void The_aout_kludge_honours_load_end_addr_before_the_end_of_the_file()
    {
        var image = BzImageBuilder.MakeKernel(0x800);
        MultibootHeaderBuilder.Build(0x1_0000, headerAddress: 0x20_0000, loadAddress: 0x20_0000, loadEndAddress: 0x20_0400, bssEndAddress: 0, entryAddress: 0x20_0020)
            .CopyTo(image, 0);

        var kernel = Load(image);

        Assert.Equal(image[..0x400], memory.Bytes(0x20_0000, 0x400));
        Assert.Equal(0, memory.U8(0x20_0400));
        Assert.Equal(0x20_0400UL, kernel.KernelEnd);
    }

    [Theory]
    [InlineData(0x10_0040u, 0x10_0080u, 0u, 0u, 0x10_0080u, "load start would lie before the beginning of the file")]
    [InlineData(0x10_0040u, 0x10_0000u, 0x10_9000u, 0u, 0x10_0080u, "truncated")]
    [InlineData(0x10_0040u, 0x10_0000u, 0u, 0x10_0100u, 0x10_0080u, "bss_end_addr 0x100100 below load_end_addr")]
    [InlineData(0x6040u, 0x6000u, 0u, 0u, 0x6080u, "overlaps 0x0-0x7000, where the boot loader puts the real-mode IVT")]
    [InlineData(0xA_0040u, 0xA_0000u, 0u, 0u, 0xA_0080u, "overlaps 0x9fc00-0x100000, where the boot loader puts the EBDA")]
    [InlineData(0x10_0040u, 0x10_0000u, 0u, 0u, 0x20_0000u, "entry_addr 0x200000 outside the loaded image")]
    public void Inconsistent_aout_kludge_addresses_are_refused_naming_the_field(uint headerAddress, uint loadAddress, uint loadEnd, uint bssEnd, uint entry, string expected)
    {
        var image = BzImageBuilder.MakeKernel(0x800);
        MultibootHeaderBuilder.Build(0x1_0000, headerAddress, loadAddress, loadEnd, bssEnd, entry).CopyTo(image, 0x40);

        var error = Assert.Throws<BootImageException>(() => Load(image));

        Assert.Contains("Multiboot header at offset 0x40", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void A_header_requiring_features_vessel_lacks_is_refused()
    {
        var text = MultibootHeaderBuilder.CodeWithHeader(0x200, flags: 0x8);

        var error = Assert.Throws<BootImageException>(() => Load(Flat(text, [1])));

        Assert.Contains("requires features (flags 0x8)", error.Message);
    }

    [Fact]
    public void A_non_elf_image_without_address_fields_is_refused()
    {
        var image = BzImageBuilder.MakeKernel(0x100);
        MultibootHeaderBuilder.Build(0).AsSpan(0, 12).CopyTo(image);

        var error = Assert.Throws<BootImageException>(() => Load(image));

        Assert.Contains("no address fields (flag bit 16 clear) and the file is not ELF", error.Message);
    }

    [Fact]
    public void A_header_with_a_wrong_checksum_or_beyond_8_kib_is_not_found()
    {
        var badChecksum = new byte[0x100];
        MultibootHeaderBuilder.Build(0, corruptChecksum: true).CopyTo(badChecksum, 0);
        var tooLate = new byte[0x3000];
        MultibootHeaderBuilder.Build(0).CopyTo(tooLate, 0x2000);

        Assert.False(MultibootHeader.TryFind(badChecksum, out _));
        Assert.False(MultibootHeader.TryFind(tooLate, out _));
        var error = Assert.Throws<BootImageException>(() => MultibootLoader.Load(memory, tooLate, new KernelLoadOptions()));
        Assert.Contains("No multiboot header", error.Message);
    }

    [Fact]
    public void A_header_on_the_last_aligned_slot_of_the_first_8_kib_is_found()
    {
        var image = new byte[0x3000];
        MultibootHeaderBuilder.Build(0).AsSpan(0, 12).CopyTo(image.AsSpan(0x2000 - 12));

        Assert.True(MultibootHeader.TryFind(image, out var header));
        Assert.Equal(0x2000 - 12, header.Offset);
    }

    [Fact]
    public void A_kernel_linked_in_free_low_memory_loads_there_as_kvm_unit_tests_realmode_does()
    {
        var text = MultibootHeaderBuilder.CodeWithHeader(0x200);

        var kernel = Load(Flat(text, [0x5A], textStart: 0x8000, dataStart: 0xB000, bssEnd: 0xD800), new KernelLoadOptions { CommandLine = "realmode" });

        Assert.Equal(text, memory.Bytes(0x8000, text.Length));
        Assert.Equal(0x5A, memory.U8(0xB000));
        Assert.Equal(0xD800UL, kernel.KernelEnd);
        Assert.Equal("test.flat realmode\0", System.Text.Encoding.ASCII.GetString(memory.Bytes(0x20000, 19)));
    }

    [Fact]
    public void A_kernel_over_the_multiboot_strings_is_refused_naming_them()
    {
        var image = Flat(MultibootHeaderBuilder.CodeWithHeader(0x200), [1], textStart: 0x2_0000, dataStart: 0x2_1000, bssEnd: 0x2_2000);

        var error = Assert.Throws<BootImageException>(() => Load(image, new KernelLoadOptions { CommandLine = "a b c" }));

        Assert.Contains("where the boot loader puts the multiboot command line and module strings", error.Message);
    }

    private static byte[] Flat(byte[] text, byte[] data, ulong textStart = TextStart, ulong dataStart = DataStart, ulong bssEnd = BssEnd)
    {
        var elf = new ElfBuilder { Is64 = false, Entry = textStart + 0xC };
        elf.Segments.Add(new ElfSegment(textStart, text, (ulong)text.Length));
        elf.Segments.Add(new ElfSegment(dataStart, data, bssEnd - dataStart));
        return elf.Build();
    }

    private LoadedKernel Load(byte[] image, KernelLoadOptions? options = null) =>
        KernelLoader.Load(memory, KernelImage.FromBytes(image, "test.flat"), options);
}

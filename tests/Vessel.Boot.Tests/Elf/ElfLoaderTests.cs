using Vessel.Boot.Layout;
using Vessel.Testing.Images;
using Vessel.Boot.Elf;
using Vessel.Boot.Tests.Fixtures;
using Vessel.Core.Memory;

namespace Vessel.Boot.Tests.Elf;

public sealed class ElfLoaderTests : IDisposable
{
    private static readonly BootArea[] OneMiB = [new BootArea(0, 0x10_0000, "the boot structures")];
    private readonly GuestMemory memory = GuestMemory.Create(GuestMemoryReader.SixtyFourMiB);

    public void Dispose() => memory.Dispose();

    [Fact]
    public void Elf64_segments_are_copied_to_their_physical_addresses_and_zero_filled_to_memsz()
    {
        var text = BzImageBuilder.MakeKernel(0x1800);
        var data = new byte[] { 1, 2, 3, 4 };
        var elf = new ElfBuilder { Entry = 0x20_0000 };
        elf.Segments.Add(new ElfSegment(0x20_0000, text, (ulong)text.Length));
        elf.Segments.Add(new ElfSegment(0x30_0000, data, 0x2000));
        memory.GetSpan(new GuestAddress(0x30_0000), 0x2000).Fill(0xCC);

        var result = ElfLoader.Load(memory, elf.Build(), OneMiB);

        Assert.Equal(text, memory.Bytes(0x20_0000, text.Length));
        Assert.Equal(data, memory.Bytes(0x30_0000, data.Length));
        Assert.All(memory.Bytes(0x30_0004, 0x2000 - 4), b => Assert.Equal(0, b));
        Assert.Equal(ElfClass.Elf64, result.Class);
        Assert.Equal(0x20_0000UL, result.Entry);
        Assert.Equal(0x20_0000UL, result.Start);
        Assert.Equal(0x30_2000UL, result.End);
    }

    [Fact]
    public void A_vmlinux_style_physical_entry_is_used_unchanged_although_the_segments_are_linked_high()
    {
        var elf = new ElfBuilder { Entry = 0x100_0000 };
        elf.Segments.Add(new ElfSegment(0x100_0000, BzImageBuilder.MakeKernel(0x1000), 0x1000, VirtualAddress: 0xFFFF_FFFF_8100_0000));

        var result = ElfLoader.Load(memory, elf.Build(), OneMiB);

        Assert.Equal(0x100_0000UL, result.Entry);
    }

    [Fact]
    public void A_virtual_entry_is_translated_to_physical_through_the_segment_that_contains_it()
    {
        var elf = new ElfBuilder { Entry = 0xFFFF_FFFF_8100_0100 };
        elf.Segments.Add(new ElfSegment(0x100_0000, BzImageBuilder.MakeKernel(0x1000), 0x1000, VirtualAddress: 0xFFFF_FFFF_8100_0000));

        var result = ElfLoader.Load(memory, elf.Build(), OneMiB);

        Assert.Equal(0x100_0100UL, result.Entry);
    }

    [Fact]
    public void Elf32_program_headers_load_through_the_same_loader()
    {
        var text = BzImageBuilder.MakeKernel(0x100);
        var elf = new ElfBuilder { Is64 = false, Entry = 0x40_0010 };
        elf.Segments.Add(new ElfSegment(0x40_0000, text, 0x1000));

        var result = ElfLoader.Load(memory, elf.Build(), OneMiB);

        Assert.Equal(ElfClass.Elf32, result.Class);
        Assert.Equal(text, memory.Bytes(0x40_0000, text.Length));
        Assert.Equal(0x40_0010UL, result.Entry);
        Assert.Equal(0x40_1000UL, result.End);
    }

    [Fact]
    public void Non_load_segments_and_empty_load_segments_are_skipped()
    {
        var elf = new ElfBuilder { Entry = 0x20_0000 };
        elf.Segments.Add(new ElfSegment(0x10, [9, 9], 2, Type: 4));
        elf.Segments.Add(new ElfSegment(0x20, [], 0));
        elf.Segments.Add(new ElfSegment(0x20_0000, [1], 1));

        var result = ElfLoader.Load(memory, elf.Build(), OneMiB);

        Assert.Equal(0x20_0000UL, result.Start);
    }

    [Fact]
    public void A_kernel_for_another_architecture_is_refused_naming_e_machine()
    {
        var elf = Simple(machine: 183);

        var error = Assert.Throws<BootImageException>(() => ElfLoader.Load(memory, elf, OneMiB));

        Assert.Contains("e_machine at offset 0x12 is 183 (AArch64)", error.Message);
        Assert.Contains("x86-64", error.Message);
    }

    [Fact]
    public void A_position_independent_executable_is_refused_naming_e_type()
    {
        var elf = Simple(type: 3);

        var error = Assert.Throws<BootImageException>(() => ElfLoader.Load(memory, elf, OneMiB));

        Assert.Contains("e_type at offset 0x10 is ET_DYN", error.Message);
    }

    [Fact]
    public void An_invalid_class_or_byte_order_or_version_is_refused_naming_the_ident_byte()
    {
        var badClass = Simple();
        badClass[4] = 3;
        var bigEndian = Simple();
        bigEndian[5] = 2;
        var badVersion = Simple();
        badVersion[6] = 0;

        Assert.Contains("EI_CLASS", Assert.Throws<BootImageException>(() => ElfLoader.Load(memory, badClass, OneMiB)).Message);
        Assert.Contains("ELFDATA2LSB", Assert.Throws<BootImageException>(() => ElfLoader.Load(memory, bigEndian, OneMiB)).Message);
        Assert.Contains("EI_VERSION", Assert.Throws<BootImageException>(() => ElfLoader.Load(memory, badVersion, OneMiB)).Message);
    }

    [Fact]
    public void A_file_cut_inside_the_elf_header_is_reported_as_truncated()
    {
        var error = Assert.Throws<BootImageException>(() => ElfLoader.Load(memory, Simple()[..40], OneMiB));

        Assert.Contains("too short to hold the Elf64_Ehdr", error.Message);
    }

    [Fact]
    public void A_program_header_table_past_the_end_of_the_file_is_refused()
    {
        var elf = Simple();
        elf[32] = 0xF0;
        elf[33] = 0xFF;

        var error = Assert.Throws<BootImageException>(() => ElfLoader.Load(memory, elf, OneMiB));

        Assert.Contains("program header table", error.Message);
        Assert.Contains("past the end", error.Message);
    }

    [Fact]
    public void A_segment_whose_bytes_run_past_the_end_of_the_file_is_reported_as_truncated()
    {
        var elf = Simple();

        var error = Assert.Throws<BootImageException>(() => ElfLoader.Load(memory, elf[..(ElfBuilder.SegmentFileAlignment + 1)], OneMiB));

        Assert.Contains("program header 0 (PT_LOAD) has p_offset", error.Message);
        Assert.Contains("truncated", error.Message);
    }

    [Fact]
    public void A_segment_with_filesz_larger_than_memsz_is_refused()
    {
        var elf = new ElfBuilder { Entry = 0x20_0000 };
        elf.Segments.Add(new ElfSegment(0x20_0000, new byte[0x10], 0x8));

        var error = Assert.Throws<BootImageException>(() => ElfLoader.Load(memory, elf.Build(), OneMiB));

        Assert.Contains("p_filesz 0x10 larger than p_memsz 0x8", error.Message);
    }

    [Fact]
    public void A_segment_over_a_boot_area_is_refused_naming_what_lives_there()
    {
        var elf = new ElfBuilder { Entry = 0x8000 };
        elf.Segments.Add(new ElfSegment(0x8000, [0x90], 1));

        var error = Assert.Throws<BootImageException>(() => ElfLoader.Load(memory, elf.Build(), OneMiB));

        Assert.Contains("0x8000-0x8001", error.Message);
        Assert.Contains("overlaps 0x0-0x100000, where the boot loader puts the boot structures", error.Message);
    }

    [Fact]
    public void A_segment_beyond_guest_ram_is_refused_with_the_ram_layout()
    {
        var elf = new ElfBuilder { Entry = 0x800_0000 };
        elf.Segments.Add(new ElfSegment(0x800_0000, [0x90], 1));

        var error = Assert.Throws<BootImageException>(() => ElfLoader.Load(memory, elf.Build(), OneMiB));

        Assert.Contains("not guest RAM (guest RAM: 0x0-0x4000000)", error.Message);
    }

    [Fact]
    public void An_entry_point_outside_every_segment_is_refused()
    {
        var elf = new ElfBuilder { Entry = 0x90_0000 };
        elf.Segments.Add(new ElfSegment(0x20_0000, [0x90], 1));

        var error = Assert.Throws<BootImageException>(() => ElfLoader.Load(memory, elf.Build(), OneMiB));

        Assert.Contains("e_entry 0x900000 lies in no PT_LOAD segment", error.Message);
    }

    [Fact]
    public void A_file_without_loadable_segments_is_refused()
    {
        var elf = new ElfBuilder { Entry = 0x20_0000 };
        elf.Segments.Add(new ElfSegment(0x20_0000, [1], 1, Type: 4));

        var error = Assert.Throws<BootImageException>(() => ElfLoader.Load(memory, elf.Build(), OneMiB));

        Assert.Contains("no PT_LOAD segment", error.Message);
    }

    [Fact]
    public void A_file_without_program_headers_is_refused()
    {
        var elf = new ElfBuilder { Entry = 0x20_0000 };

        var error = Assert.Throws<BootImageException>(() => ElfLoader.Load(memory, elf.Build(), OneMiB));

        Assert.Contains("e_phnum is 0", error.Message);
    }

    private static byte[] Simple(ushort machine = 0, ushort type = 2)
    {
        var elf = new ElfBuilder { Entry = 0x20_0000, Machine = machine, Type = type };
        elf.Segments.Add(new ElfSegment(0x20_0000, [0x90, 0xF4], 2));
        return elf.Build();
    }
}

using Vessel.Core.Memory;

namespace Vessel.Core.Tests;

public class GuestMemoryTests
{
    [Fact]
    public void Memory_below_the_hole_is_one_region_starting_at_zero()
    {
        using var memory = GuestMemory.Create(64UL << 20);

        var region = Assert.Single(memory.Regions);
        Assert.Equal(new GuestAddress(0), region.Start);
        Assert.Equal(64UL << 20, region.Size);
    }

    [Fact]
    public void Memory_larger_than_the_low_window_continues_at_4_GiB()
    {
        using var memory = GuestMemory.Create(GuestMemory.MmioHoleStart + (16UL << 20));

        Assert.Equal(2, memory.Regions.Count);
        Assert.Equal(GuestMemory.MmioHoleStart, memory.Regions[0].Size);
        Assert.Equal(new GuestAddress(GuestMemory.FourGiB), memory.Regions[1].Start);
        Assert.False(memory.IsRam(new GuestAddress(GuestMemory.MmioHoleStart)));
        Assert.True(memory.IsRam(new GuestAddress(GuestMemory.FourGiB + 0x1000)));
    }

    [Fact]
    public unsafe void Typed_writes_are_visible_through_host_pointers_and_spans()
    {
        using var memory = GuestMemory.Create(4UL << 20);

        memory.Write(new GuestAddress(0x1234), 0xDEADBEEFu);

        Assert.Equal(0xDEADBEEFu, memory.Read<uint>(new GuestAddress(0x1234)));
        Assert.Equal(0xEF, *memory.HostPointerOrNull(0x1234));
        Assert.Equal(0xBE, memory.GetSpan(new GuestAddress(0x1235), 1)[0]);
    }

    [Fact]
    public void Accesses_past_the_end_of_ram_are_refused_with_the_address()
    {
        using var memory = GuestMemory.Create(4UL << 20);

        var error = Assert.Throws<GuestMemoryException>(() => memory.Read<ulong>(new GuestAddress((4UL << 20) - 4)));

        Assert.Contains("0x3ffffc", error.Message);
    }

    [Fact]
    public unsafe void Addresses_in_the_mmio_hole_have_no_host_pointer()
    {
        using var memory = GuestMemory.Create(4UL << 20);

        Assert.True(memory.HostPointerOrNull(0xFEE0_0000) == null);
        Assert.True(memory.HostPointerOrNull(4UL << 20) == null);
    }

    [Theory]
    [InlineData(1000UL)]
    [InlineData((1UL << 20) + 1)]
    public void Sizes_that_are_not_whole_pages_or_too_small_are_rejected(ulong size)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => GuestMemory.Create(size));
    }
}

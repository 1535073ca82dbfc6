using Vessel.Boot.Layout;
using Vessel.Core.Memory;

namespace Vessel.Boot.Tests.Layout;

public sealed class E820MapTests
{
    private const ulong ThreeGiB = 0xC000_0000;

    [Fact]
    public void Ram_above_the_mmio_hole_appears_at_4_gib_and_the_hole_itself_is_absent()
    {
        using var memory = GuestMemory.Create(ThreeGiB + (64UL << 20));

        var map = E820Map.Build(memory);

        Assert.Equal(
            [
                new E820Entry(0, 0x9FC00, E820Type.Ram),
                new E820Entry(0x9FC00, 0x100000 - 0x9FC00, E820Type.Reserved),
                new E820Entry(0x100000, ThreeGiB - 0x100000, E820Type.Ram),
                new E820Entry(0x1_0000_0000, 64UL << 20, E820Type.Ram),
            ],
            map);
    }

    [Fact]
    public void One_mib_of_ram_has_no_usable_range_above_the_bios_area()
    {
        using var memory = GuestMemory.Create(1UL << 20);

        var map = E820Map.Build(memory);

        Assert.Equal(2, map.Count);
        Assert.Equal(new E820Entry(0x9FC00, 0x100000 - 0x9FC00, E820Type.Reserved), map[1]);
    }

    [Fact]
    public void A_reserved_range_that_overlaps_ram_is_refused()
    {
        using var memory = GuestMemory.Create(64UL << 20);

        var error = Assert.Throws<ArgumentException>(() => E820Map.Build(memory, [new E820Entry(0x200_0000, 0x1000, E820Type.Reserved)]));

        Assert.Contains("overlaps", error.Message);
    }
}

using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Tests.Decoding;

public class BlockCacheTests
{
    private const ulong First = 0x12_3450;

    [Fact]
    public void Two_blocks_whose_addresses_share_a_set_are_both_found_after_both_were_added()
    {
        var cache = new BlockCache();
        var first = Block(First);
        var second = Block(SameSetAs(First, 1));
        cache.Add(first);
        cache.Add(second);

        Assert.Same(first, cache.Find(first.PhysicalAddress, 64, 0));
        Assert.Same(second, cache.Find(second.PhysicalAddress, 64, 0));
        Assert.Same(first, cache.Find(first.PhysicalAddress, 64, 0));
    }

    [Fact]
    public void A_third_block_in_a_full_set_pushes_out_the_one_found_least_recently()
    {
        var cache = new BlockCache();
        var first = Block(First);
        var second = Block(SameSetAs(First, 1));
        var third = Block(SameSetAs(First, 2));
        cache.Add(first);
        cache.Add(second);
        Assert.Same(first, cache.Find(first.PhysicalAddress, 64, 0));

        cache.Add(third);

        Assert.Same(first, cache.Find(first.PhysicalAddress, 64, 0));
        Assert.Same(third, cache.Find(third.PhysicalAddress, 64, 0));
        Assert.Null(cache.Find(second.PhysicalAddress, 64, 0));
    }

    [Fact]
    public void A_block_decoded_again_after_a_write_to_its_page_replaces_the_stale_one_and_keeps_its_neighbour()
    {
        var cache = new BlockCache();
        var stale = Block(First, generation: 1);
        var neighbour = Block(SameSetAs(First, 1));
        cache.Add(stale);
        cache.Add(neighbour);

        var fresh = Block(First, generation: 2);
        cache.Add(fresh);

        Assert.Null(cache.Find(First, 64, 1));
        Assert.Same(fresh, cache.Find(First, 64, 2));
        Assert.Same(neighbour, cache.Find(neighbour.PhysicalAddress, 64, 0));
    }

    [Fact]
    public void A_block_is_not_found_for_another_code_width_or_generation()
    {
        var cache = new BlockCache();
        cache.Add(Block(First));

        Assert.Null(cache.Find(First, 32, 0));
        Assert.Null(cache.Find(First, 64, 1));
    }

    private static DecodedBlock Block(ulong physicalAddress, uint generation = 0) => new(physicalAddress, 64, [], 0, generation);

    /// <summary>The <paramref name="nth"/> page-aligned step above <paramref name="address"/> that lands in its set.</summary>
    private static ulong SameSetAs(ulong address, int nth)
    {
        int set = BlockCache.Set(address);
        for (ulong candidate = address + 0x1000; ; candidate += 0x1000)
        {
            if (BlockCache.Set(candidate) == set && --nth == 0)
            {
                return candidate;
            }
        }
    }
}

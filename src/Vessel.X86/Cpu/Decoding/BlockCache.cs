using System.Runtime.CompilerServices;

namespace Vessel.X86.Cpu.Decoding;

/// <summary>
/// One vCPU's decoded blocks, found by physical address and code width through a two-way set-associative table. The table
/// is the only place a block lives, so a block pushed out is decoded again (and its compiled code is lost) the next time it
/// runs. With one way, two hot blocks whose addresses share a set pushed each other out at every run: a busybox shell
/// loop in the Debian guest decoded about 245,000 blocks a second that way, and those blocks never stayed long enough to
/// be compiled (docs/performance.md). Two ways, the more recently used first, keep both, in the same 65,536 entries.
/// </summary>
public sealed class BlockCache
{
    private const int Sets = 1 << 15;
    private const int Ways = 2;

    /// <summary>Set <c>s</c> is entries <c>2s</c> (the more recently used) and <c>2s + 1</c>.</summary>
    private readonly DecodedBlock?[] table = new DecodedBlock?[Sets * Ways];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public DecodedBlock? Find(ulong physicalAddress, int codeBits, uint generation)
    {
        int first = Set(physicalAddress) * Ways;
        var block = table[first];
        if (Matches(block, physicalAddress, codeBits, generation))
        {
            return block;
        }

        return FindInSecondWay(first, physicalAddress, codeBits, generation);
    }

    /// <summary>
    /// Puts <paramref name="block"/> first in its set. A stale block for the same address (older generation or other code
    /// width) is replaced in place; otherwise the set's older entry goes.
    /// </summary>
    public void Add(DecodedBlock block)
    {
        int first = Set(block.PhysicalAddress) * Ways;
        var previous = table[first];
        if (previous != null && previous.PhysicalAddress != block.PhysicalAddress)
        {
            table[first + 1] = previous;
        }

        table[first] = block;
    }

    public void Clear() => Array.Clear(table);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Matches(DecodedBlock? block, ulong physicalAddress, int codeBits, uint generation) =>
        block != null && block.PhysicalAddress == physicalAddress && block.CodeBits == codeBits && block.Generation == generation;

    /// <summary>The second way, out of line so the common first-way hit stays small; a hit there moves to the front.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private DecodedBlock? FindInSecondWay(int first, ulong physicalAddress, int codeBits, uint generation)
    {
        var block = table[first + 1];
        if (!Matches(block, physicalAddress, codeBits, generation))
        {
            return null;
        }

        table[first + 1] = table[first];
        table[first] = block;
        return block;
    }

    /// <summary>The set a block at <paramref name="physicalAddress"/> goes to.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Set(ulong physicalAddress) => (int)((physicalAddress ^ (physicalAddress >> 14)) & (Sets - 1));
}

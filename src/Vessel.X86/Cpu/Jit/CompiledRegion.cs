using System.Runtime.InteropServices;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Jit;

/// <summary>
/// Compiled code for a hot block and the blocks of its code page it leads to (a region): one method in which a block
/// that ends by going to another member (a loop's back edge, a call into a helper on the same page and the return
/// from it) branches there directly, while no event is pending, the instruction budget lasts and nothing stopped the
/// block. A region of one block is the plain compiled block. The code runs from <see cref="Instructions"/>, a pinned
/// copy of the members' decoded instructions in which each instruction's end offset counts from the region's base
/// (the RIP the code is given: the entry's RIP less <see cref="EntryOffset"/>), so handlers and fault reporting see
/// one array however many blocks ran.
/// </summary>
public sealed unsafe class CompiledRegion
{
    private readonly DecodedInstruction[] instructions;

    internal CompiledRegion(DecodedInstruction[] pinnedInstructions, uint entryOffset, int members)
    {
        instructions = pinnedInstructions;
        First = (DecodedInstruction*)Marshal.UnsafeAddrOfPinnedArrayElement(pinnedInstructions, 0);
        EntryOffset = entryOffset;
        Members = members;
    }

    /// <summary>The code; set once, before the region is installed in its entry block.</summary>
    public CompiledBlockCode Code { get; internal set; } = null!;

    /// <summary>The members' instructions, one after another (allocated pinned: the code holds their address).</summary>
    public DecodedInstruction* First { get; }

    /// <summary>How many instructions the members hold together.</summary>
    public int Count => instructions.Length;

    /// <summary>The entry block's first byte, counted from the region's base.</summary>
    public uint EntryOffset { get; }

    /// <summary>How many blocks the region holds (1: a plain compiled block).</summary>
    public int Members { get; }
}

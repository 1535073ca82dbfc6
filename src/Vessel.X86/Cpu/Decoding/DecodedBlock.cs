namespace Vessel.X86.Cpu.Decoding;

/// <summary>A straight run of decoded instructions inside one physical page, ending at control flow or the page end.</summary>
public sealed unsafe class DecodedBlock
{
    private readonly DecodedInstruction[] instructions;

    public DecodedBlock(ulong physicalAddress, int codeBits, DecodedInstruction[] instructions, int count, uint generation)
    {
        PhysicalAddress = physicalAddress;
        CodeBits = codeBits;
        this.instructions = instructions;
        Count = count;
        Generation = generation;
    }

    public ulong PhysicalAddress { get; }

    public int CodeBits { get; }

    public int Count { get; }

    /// <summary>The code page's write generation when decoded; a later write to the page makes the block stale.</summary>
    public uint Generation { get; }

    /// <summary>The decoded instructions; the run loop pins them while the block executes.</summary>
    public DecodedInstruction[] Instructions => instructions;

    /// <summary>
    /// The block compiled to host code once it ran often enough, alone or as the entry of a region of its page (Jit/);
    /// null until then. Written by the background compiler, read by the vCPU; it lives and dies with the block, so a
    /// write to the page drops it too (a region's other members are on the same page).
    /// </summary>
    internal volatile Jit.CompiledRegion? CompiledCode;

    /// <summary>Whether compiled code is installed for the block (for diagnostics and tests).</summary>
    public bool IsCompiled => CompiledCode != null;

    /// <summary>Runs counted towards the compile threshold (vCPU thread only).</summary>
    internal int ExecutionCount;

    /// <summary>Non-zero once the block is queued for, or has been through, compilation (vCPU thread only).</summary>
    internal bool CompileRequested;

    /// <summary>
    /// Direct links to the compiled blocks that ran after this one (vCPU thread only): a taken and a fall-through
    /// successor, so a conditional branch keeps both. See <see cref="Cpu"/>'s compiling tier for when a link holds.
    /// </summary>
    internal BlockLink Link0;

    /// <summary>The second link; <see cref="NextLinkSlot"/> says which one a new successor replaces.</summary>
    internal BlockLink Link1;

    /// <summary>0 or 1: the link a new successor overwrites.</summary>
    internal byte NextLinkSlot;
}

/// <summary>
/// A remembered successor: the block that was found at <see cref="Rip"/> (linear address <see cref="Linear"/>) while the
/// CPU's code-link epoch was <see cref="Epoch"/>. Null <see cref="Target"/> is an empty link.
/// </summary>
internal struct BlockLink
{
    public ulong Rip;
    public ulong Linear;
    public ulong Epoch;
    public DecodedBlock? Target;
}

using System.Runtime.CompilerServices;
using Vessel.X86.Cpu.Decoding;
using Vessel.X86.Cpu.Jit;

namespace Vessel.X86.Cpu;

/// <summary>
/// The run loop's hook into the compiling tier (kept in Jit/ with the tier; the namespace is the CPU's because the
/// hook is part of it): count a block's runs, queue it when hot, and run its compiled code once installed, finishing
/// the block exactly as <see cref="RunInstructions"/> does.
/// </summary>
public sealed unsafe partial class Cpu
{
    /// <summary>Whether this CPU runs compiled blocks: the <c>VESSEL_JIT</c> environment variable, else on.</summary>
    public CompilingTierMode CompilingTier { get; set; } = CompilingTierSettings.Resolve(null);

    /// <summary>Runs of a block before it is queued for compilation (<see cref="CompilingTierMode.On"/>).</summary>
    public int CompileThreshold { get; set; } = CompilingTierSettings.Threshold();

    /// <summary>The instruction count at which the current <see cref="Run(ulong)"/> returns; compiled chains stop there too.</summary>
    private ulong runStopAt = ulong.MaxValue;

    /// <summary>Calls into compiled code this CPU made (a call may run several blocks of a region; for the benchmarks and tests).</summary>
    public ulong CompiledBlockRuns { get; private set; }

    /// <summary>
    /// Compiles a block that turns hot on the vCPU thread at once instead of queuing it, so tests see the same blocks
    /// compiled (and the same regions formed) at every run.
    /// </summary>
    public bool CompileOnVcpuThread { get; set; }

    /// <summary>Calls into compiled regions of more than one block (for the benchmarks and tests).</summary>
    public ulong CompiledRegionRuns { get; private set; }

    /// <summary>Whether hot 64-bit blocks are compiled together with the blocks of their page they lead to (see <see cref="FormRegion"/>).</summary>
    public bool CompileRegions { get; set; } = CompilingTierSettings.Regions();

    /// <summary>Most instructions one call into a region may run before it returns to the run loop (it also returns at any event).</summary>
    private const ulong RegionInstructionLimit = 1 << 16;

    /// <summary>Written by compiled code before it returns: the instructions it ran (see <see cref="CompiledBlockCode"/>).</summary>
#pragma warning disable CS0649 // only the emitted IL stores it
    private ulong compiledRetired;
#pragma warning restore CS0649

    /// <summary>Read by compiled code: it goes on into another member only while it has run fewer instructions than this.</summary>
    private ulong compiledBudget;

    /// <summary>
    /// Runs <paramref name="block"/> as compiled code when it has some; false when the interpreter must run it. A block
    /// that turns hot is queued (or, with <see cref="CompilingTierMode.Always"/>, compiled now).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryRunCompiled(DecodedBlock block, ulong rip)
    {
        var code = block.CompiledCode;
        if (code == null)
        {
            if (CompilingTier == CompilingTierMode.Off || block.CompileRequested || !RequestCompilation(block, rip))
            {
                return false;
            }

            code = block.CompiledCode;
            if (code == null)
            {
                return false;
            }
        }

        RunCompiled(block, code, rip);
        return true;
    }

    /// <summary>True when the block was compiled on this thread and can run compiled now.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool RequestCompilation(DecodedBlock block, ulong rip)
    {
        // Page-straddling instructions are decoded into a reused slot at every run: there is nothing to keep.
        if (block.PhysicalAddress == ulong.MaxValue)
        {
            block.CompileRequested = true;
            return false;
        }

        if (CompilingTier != CompilingTierMode.Always)
        {
            if (++block.ExecutionCount < CompileThreshold)
            {
                return false;
            }

            block.ExecutionCount = 0;
            if (!CompileOnVcpuThread)
            {
                block.CompileRequested = BackgroundCompiler.Shared.TryEnqueue(FormRegion(block, rip));
                return false;
            }
        }

        block.CompileRequested = true;
        BackgroundCompiler.Shared.CompileNow(FormRegion(block, rip));
        return true;
    }

    /// <summary>
    /// The region to compile for the hot block <paramref name="entry"/> at <paramref name="rip"/>: the entry, then the
    /// blocks of the same code page that its members' last instructions name (jump and branch targets, fall-throughs,
    /// call targets and the return addresses a callee's RET comes back to) and that are hot themselves (queued already,
    /// or half-way to the threshold), up to <see cref="RegionFormation.MaxMembers"/>; the entry alone unless one of
    /// them leads back to it, since what a region saves is the trips through the run loop around a loop, and RyuJIT's
    /// time grows with every member. Members' own counts start again, so the blocks of one loop do not each compile
    /// the same loop; one entered often from outside still turns hot on its own. Only 64-bit code: there RIP is the
    /// linear address, so members keep their page offsets from the region's base (the page's RIP) at any RIP the page
    /// runs at, and the entry's generation validates them all.
    /// </summary>
    private RegionMember[] FormRegion(DecodedBlock entry, ulong rip)
    {
        uint entryOffset = (uint)(rip & 0xFFF);
        if (!CompileRegions || entry.CodeBits != 64 || (entry.PhysicalAddress & 0xFFF) != entryOffset)
        {
            return [new RegionMember(entry, 0)];
        }

        ulong physicalPage = entry.PhysicalAddress & ~0xFFFul;
        var members = new List<RegionMember> { new(entry, entryOffset) };
        bool loops = false;
        Span<long> targets = stackalloc long[2];
        for (int m = 0; m < members.Count; m++)
        {
            var block = members[m].Block;
            ref readonly var last = ref block.Instructions[block.Count - 1];
            int count = RegionFormation.StaticSuccessors(in last, HandlerRecognizer.Classify(in last), targets, withReturnAddress: true);
            for (int t = 0; t < count; t++)
            {
                long offset = members[m].Offset + targets[t];
                loops |= offset == entryOffset;
                if (offset < 0 || offset >= 4096 || members.Count >= RegionFormation.MaxMembers || members.Exists(member => member.Offset == offset))
                {
                    continue;
                }

                var found = blockCache.Find(physicalPage + (ulong)offset, 64, entry.Generation);
                if (found != null && (found.CompileRequested || found.ExecutionCount >= CompileThreshold / 2))
                {
                    members.Add(new RegionMember(found, (uint)offset));
                }
            }
        }

        if (!loops)
        {
            return [new RegionMember(entry, 0)];
        }

        foreach (var member in members)
        {
            member.Block.ExecutionCount = 0;
        }

        return [.. members];
    }

    /// <summary>
    /// Compiled blocks run back to back here while nothing would make the run loop do more than find the next block:
    /// no event to handle, budget left, no single-step, breakpoint or interrupt shadow. The checks are the run loop's
    /// and ExecuteBlock's, in their order, less those a block that ran to its end cannot need: HLT, a failure and a
    /// triple fault set StopBlock (Halt, Fail, the shutdown in delivery), so RunCompiledBlock returned false, and the
    /// wait for STARTUP only begins in HandleEvents, outside any block. The chain is bounded so that this method returns often, and the .NET
    /// runtime can replace it with its optimized code (a loop that never returns stays in on-stack-replacement code);
    /// for the same reason it is not inlined into the run loop, which never returns while a guest runs.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RunCompiled(DecodedBlock block, CompiledRegion code, ulong rip)
    {
        const int chainLimit = 256;
        var s = State;
        for (int chained = 0; RunCompiledBlock(s, code, rip) && chained < chainLimit; chained++)
        {
            int events = pendingEvents;
            if ((events != 0 && (events != (int)PendingEvent.InterruptRequest || InterruptsEnabled)) || InstructionsRetired >= runStopAt
                || (s->Rflags & (ulong)(RflagsBits.Trap | RflagsBits.Resume)) != 0 || debugArmed || s->InterruptShadow != 0)
            {
                return;
            }

            rip = s->Gpr[CpuState.RipIndex];
            var next = FollowLink(block, rip);
            if (next == null)
            {
                next = FindBlock(rip);
                if (next?.CompiledCode == null)
                {
                    // Not compiled (or fetching faulted and was delivered): the run loop takes it from here, and finds
                    // the same block again.
                    return;
                }

                AddLink(block, rip, next);
            }

            block = next;
            code = next.CompiledCode!;
        }
    }

    /// <summary>
    /// The compiled successor <paramref name="block"/> remembers for <paramref name="rip"/>, when FindBlock would find
    /// that same block now: no fetch translation changed since (<see cref="codeLinkEpoch"/>), the code segment maps
    /// RIP to the same linear address at the same width, and the successor's page was not written (its generation).
    /// Null sends the caller to FindBlock.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private DecodedBlock? FollowLink(DecodedBlock block, ulong rip)
    {
        ref BlockLink link = ref block.Link0;
        if (link.Rip != rip)
        {
            link = ref block.Link1;
            if (link.Rip != rip)
            {
                return null;
            }
        }

        var target = link.Target;
        int bits = CodeBits;
        return target != null && link.Epoch == codeLinkEpoch && target.CodeBits == bits
            && CodeLinearAddress(rip, bits) == link.Linear
            && target.Generation == codeCache.GenerationOf(target.PhysicalAddress)
            ? target
            : null;
    }

    /// <summary>Remembers <paramref name="next"/> (just found by FindBlock, compiled) as a successor of <paramref name="block"/>.</summary>
    private void AddLink(DecodedBlock block, ulong rip, DecodedBlock next)
    {
        ref BlockLink link = ref block.Link0;
        if (block.Link0.Rip != rip)
        {
            if (block.Link1.Rip == rip)
            {
                link = ref block.Link1;
            }
            else
            {
                // A third successor replaces the older of the two.
                link = ref block.NextLinkSlot == 0 ? ref block.Link0 : ref block.Link1;
                block.NextLinkSlot ^= 1;
            }
        }

        link.Rip = rip;
        link.Linear = CodeLinearAddress(rip, CodeBits);
        link.Epoch = codeLinkEpoch;
        link.Target = next;
    }

    /// <summary>
    /// One call into compiled code (one block, or several of a region), finished as RunInstructions finishes a block;
    /// false when it stopped early or faulted.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool RunCompiledBlock(CpuState* s, CompiledRegion region, ulong rip)
    {
        s->StopBlock = 0;
        CompiledBlockRuns++;
        if (region.Members > 1)
        {
            CompiledRegionRuns++;
        }

        ulong retiredBefore = InstructionsRetired;
        compiledBudget = runStopAt > retiredBefore ? Math.Min(runStopAt - retiredBefore, RegionInstructionLimit) : 0;
        ulong regionBase = rip - region.EntryOffset;
        int position = region.Code(this, s, region.First, regionBase);
        ulong executed = compiledRetired;

        // As at the end of RunInstructions: a fault leaves RIP at the faulting instruction, which did not retire.
        if (s->ExceptionPending != 0)
        {
            var instruction = region.First + position - 1;
            s->Gpr[CpuState.RipIndex] = regionBase + instruction->EndOffset - instruction->Length;
            InstructionsRetired = retiredBefore + executed - 1;
            if (nonCanonicalDataAccess)
            {
                ClassifyNonCanonicalFault(instruction);
            }

            DeliverPendingException();
            return false;
        }

        InstructionsRetired = retiredBefore + executed;
        return s->StopBlock == 0;
    }
}

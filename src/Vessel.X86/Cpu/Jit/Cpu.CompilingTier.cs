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

    /// <summary>Blocks this CPU ran as compiled code (for the benchmarks and tests).</summary>
    public ulong CompiledBlockRuns { get; private set; }

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
            if (CompilingTier == CompilingTierMode.Off || block.CompileRequested || !RequestCompilation(block))
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
    private bool RequestCompilation(DecodedBlock block)
    {
        // Page-straddling instructions are decoded into a reused slot at every run: there is nothing to keep.
        if (block.PhysicalAddress == ulong.MaxValue)
        {
            block.CompileRequested = true;
            return false;
        }

        if (CompilingTier == CompilingTierMode.Always)
        {
            block.CompileRequested = true;
            BackgroundCompiler.Shared.CompileNow(block);
            return true;
        }

        if (++block.ExecutionCount < CompileThreshold)
        {
            return false;
        }

        block.ExecutionCount = 0;
        block.CompileRequested = BackgroundCompiler.Shared.TryEnqueue(block);
        return false;
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
    private void RunCompiled(DecodedBlock block, CompiledBlockCode code, ulong rip)
    {
        const int chainLimit = 256;
        var s = State;
        for (int chained = 0; RunCompiledBlock(s, block, code, rip) && chained < chainLimit; chained++)
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

    /// <summary>One compiled block, finished as RunInstructions finishes a block; false when it stopped early or faulted.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool RunCompiledBlock(CpuState* s, DecodedBlock block, CompiledBlockCode code, ulong rip)
    {
        s->StopBlock = 0;
        CompiledBlockRuns++;
        fixed (DecodedInstruction* first = block.Instructions)
        {
            ulong executed = (ulong)code(this, s, first, rip);

            // As at the end of RunInstructions: a fault leaves RIP at the faulting instruction, which did not retire.
            if (s->ExceptionPending != 0)
            {
                var instruction = first + executed - 1;
                s->Gpr[CpuState.RipIndex] = rip + instruction->EndOffset - instruction->Length;
                InstructionsRetired += executed - 1;
                if (nonCanonicalDataAccess)
                {
                    ClassifyNonCanonicalFault(instruction);
                }

                DeliverPendingException();
                return false;
            }

            InstructionsRetired += executed;
            return s->StopBlock == 0;
        }
    }
}

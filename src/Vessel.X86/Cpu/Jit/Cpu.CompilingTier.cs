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
    /// <summary>Whether this CPU runs compiled blocks: the <c>VESSEL_JIT</c> environment variable, else off.</summary>
    public CompilingTierMode CompilingTier { get; set; } = CompilingTierSettings.Resolve(null);

    /// <summary>Runs of a block before it is queued for compilation (<see cref="CompilingTierMode.On"/>).</summary>
    public int CompileThreshold { get; set; } = CompilingTierSettings.DefaultThreshold;

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

    private void RunCompiled(DecodedBlock block, CompiledBlockCode code, ulong rip)
    {
        var s = State;
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
                return;
            }

            InstructionsRetired += executed;
        }
    }
}

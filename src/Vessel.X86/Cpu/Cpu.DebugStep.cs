using Iced.Intel;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu;

/// <summary>
/// The run loop's careful path, taken while RFLAGS.TF or RF is set, a breakpoint is enabled, or a debug trap waits: one
/// instruction at a time, with the checks hardware makes at instruction boundaries (Intel SDM 3B §18.3, 3A §6.8.3, §6.9).
/// <list type="bullet">
/// <item>Before an instruction: traps still owed by the previous one, then instruction breakpoints (a fault, suppressed
/// by RF).</item>
/// <item>After it completes: single-step (TF at the instruction's start), data and I/O breakpoint hits; all are one
/// trap-class #DB with RIP at the next instruction. After MOV SS / POP SS they wait until the next instruction is done.</item>
/// </list>
/// </summary>
public sealed unsafe partial class Cpu
{
    /// <summary>Debug traps owed at the next instruction boundary (SYSCALL or SYSRET ending with TF set).</summary>
    private DebugStatus pendingDebugTrap;

    /// <summary>Debug traps a MOV SS / POP SS holds back until the instruction after it completes (SDM 3A §6.8.3).</summary>
    private DebugStatus deferredDebugTrap;

    /// <summary>Whether the run loop must take <see cref="ExecuteInstructionWithDebugChecks"/> even with TF and RF clear.</summary>
    private bool debugArmed;

    private void UpdateDebugArmed()
    {
        debugArmed = (instructionBreakpoints | dataBreakpoints | ioBreakpoints) != 0
            || pendingDebugTrap != DebugStatus.None
            || deferredDebugTrap != DebugStatus.None;

        // Armed, the run loop must take the one-instruction path from the next instruction on: end the block (and any
        // compiled region, which checks nothing else between its blocks).
        if (debugArmed)
        {
            State->StopBlock = 1;
        }
    }

    /// <summary>
    /// SYSCALL and SYSRET: single-step depends on TF at the end of the instruction (FMASK may clear it, SYSRET may set
    /// it), so a SYSRET that sets TF traps at once, with RIP at the first user instruction and CS the user's.
    /// </summary>
    internal void NoteTrapFlagAfterSystemCall()
    {
        if ((State->Rflags & (ulong)RflagsBits.Trap) != 0)
        {
            pendingDebugTrap |= DebugStatus.SingleStep;
            debugArmed = true;
            State->StopBlock = 1;
        }
    }

    private void ExecuteInstructionWithDebugChecks()
    {
        var s = State;
        bool afterStackLoad = s->InterruptShadow == CpuState.ShadowAfterStackLoad;
        if (pendingDebugTrap != DebugStatus.None)
        {
            var owed = pendingDebugTrap;
            pendingDebugTrap = DebugStatus.None;
            if (!afterStackLoad)
            {
                DeliverDebugTrap(owed);
                return;
            }

            deferredDebugTrap |= owed;
        }

        // SDM 3B §18.3.1.1: RF suppresses instruction breakpoints for one instruction and is cleared once it completes.
        // Clearing it now is equivalent: a fault pushes RF set regardless, and PUSHF and SYSCALL never expose it.
        ulong flags = s->Rflags;
        bool stepping = (flags & (ulong)RflagsBits.Trap) != 0;
        bool resume = (flags & (ulong)RflagsBits.Resume) != 0;
        s->Rflags = flags & ~(ulong)RflagsBits.Resume;
        s->InterruptShadow = 0;
        ulong rip = s->Gpr[CpuState.RipIndex];
        // Intel inhibits instruction breakpoints on the instruction after MOV SS/POP SS (they are dropped, not held back);
        // AMD reports them (kvm-unit-tests emulator checks both by vendor).
        bool breakpointsInhibited = afterStackLoad && !Cpuid.IsAmd;
        if (instructionBreakpoints != 0 && !resume && !breakpointsInhibited)
        {
            var matched = MatchInstructionBreakpoints(CodeLinearAddress(rip, CodeBits));
            if (matched != DebugStatus.None)
            {
                // A fault: RIP stays on the instruction and RF is not pushed set; the handler sets it to go on (§18.3.1.1).
                deferredDebugTrap = DebugStatus.None;
                UpdateDebugArmed();
                RecordDebugStatus(matched);
                DeliverEvent((int)ExceptionVector.Debug, false, 0, InterruptSource.Exception, rip);
                return;
            }
        }

        breakpointHits = DebugStatus.None;
        var block = FindBlock(rip);
        if (block == null || !RunInstructions(block, rip, 1))
        {
            // The instruction faulted: it did not complete, so it owes no traps, and those held back by MOV SS are lost.
            deferredDebugTrap = DebugStatus.None;
            pendingDebugTrap = DebugStatus.None;
            UpdateDebugArmed();
            return;
        }

        var code = block.Instructions[0].Iced.Code;
        var trap = breakpointHits | pendingDebugTrap | deferredDebugTrap;
        breakpointHits = DebugStatus.None;
        pendingDebugTrap = DebugStatus.None;
        deferredDebugTrap = DebugStatus.None;
        if (stepping && (!DeliversAnEvent(code) || (s->Rflags & (ulong)RflagsBits.Trap) != 0))
        {
            trap |= DebugStatus.SingleStep;
        }

        if (code == Code.Int1)
        {
            // ICEBP has delivered its own #DB, which leaves DR6 alone; breakpoint hits join it rather than making a
            // second #DB, and single-step is not reported (the delivery cleared TF).
            if ((trap & DebugStatus.Breakpoints) != 0)
            {
                RecordDebugStatus(trap & DebugStatus.Breakpoints);
            }

            trap = DebugStatus.None;
        }

        if (s->InterruptShadow == CpuState.ShadowAfterStackLoad)
        {
            deferredDebugTrap = trap;
        }
        else if (trap != DebugStatus.None)
        {
            DeliverDebugTrap(trap);
        }

        UpdateDebugArmed();
    }

    /// <summary>
    /// Instructions whose single-step depends on TF at their end, because they deliver an event (which clears TF; SDM 3B
    /// §18.3.1.4: INT n, INT3 and INTO clear it, so debuggers emulate them) or apply FMASK (SYSCALL), or load RFLAGS
    /// wholesale from a register (SYSRET). INTO without overflow completes as a no-op and keeps TF.
    /// </summary>
    private static bool DeliversAnEvent(Code code) =>
        code is Code.Int1 or Code.Int3 or Code.Int_imm8 or Code.Into or Code.Syscall or Code.Sysretd or Code.Sysretq;

    /// <summary>Delivers a trap-class #DB with RIP at the next instruction, after recording its causes in DR6.</summary>
    private void DeliverDebugTrap(DebugStatus causes)
    {
        RecordDebugStatus(causes);

        // A trap after HLT is taken at once: the handler returns past the HLT instead of the CPU sleeping in it.
        halted = false;
        DeliverEvent((int)ExceptionVector.Debug, false, 0, InterruptSource.Exception, Rip);
        UpdateDebugArmed();
    }

    /// <summary>HandleEvents: a debug trap owed by the last instruction comes before interrupts (SDM 3A §6.9, priority 4).</summary>
    private void DeliverOwedDebugTrap()
    {
        if (pendingDebugTrap != DebugStatus.None && State->InterruptShadow != CpuState.ShadowAfterStackLoad)
        {
            var owed = pendingDebugTrap;
            pendingDebugTrap = DebugStatus.None;
            DeliverDebugTrap(owed);
        }
    }
}

using System.Diagnostics;
using System.Runtime.CompilerServices;
using Vessel.Core.Accel;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu;

/// <summary>
/// The run loop: find or decode the block at RIP, run its handlers back to back, and at each block boundary deliver
/// pending exceptions, take interrupts, and notice exit requests. HLT sleeps until something can wake it.
/// </summary>
public sealed unsafe partial class Cpu
{
    private readonly BlockCache blockCache = new();
    private readonly BlockDecoder blockDecoder = new(HandlerTable.Instance);
    private readonly ManualResetEventSlim wakeUp = new(false);
    private volatile int pendingEvents;
    private bool halted;

    public IInterruptController? InterruptController { get; set; }

    /// <summary>Where VMCALL/VMMCALL go; without one every hypercall answers -KVM_ENOSYS.</summary>
    public IHypercallHandler? Hypercalls { get; set; }

    public bool Halted => halted;

    /// <summary>Asks Run() to return soon; safe from any thread.</summary>
    public void RequestExit()
    {
        RaiseEvent(PendingEvent.ExitRequested);
    }

    /// <summary>An interrupt controller has something for this CPU; safe from any thread.</summary>
    public void SignalInterrupt() => RaiseEvent(PendingEvent.InterruptRequest);

    internal void RequestWriteTlbFlush() => RaiseEvent(PendingEvent.WriteTlbFlush);

    private void RaiseEvent(PendingEvent pendingEvent)
    {
        int current;
        do
        {
            current = pendingEvents;
        }
        while (Interlocked.CompareExchange(ref pendingEvents, current | (int)pendingEvent, current) != current);
        wakeUp.Set();
    }

    private void ClearEvent(PendingEvent pendingEvent)
    {
        int current;
        do
        {
            current = pendingEvents;
        }
        while (Interlocked.CompareExchange(ref pendingEvents, current & ~(int)pendingEvent, current) != current);
    }

    /// <summary>Runs until an exit request, a shutdown, or a failure.</summary>
    public VcpuExit Run() => Run(ulong.MaxValue);

    /// <summary>Runs until a lifecycle event or until at least <paramref name="instructionBudget"/> instructions retired.</summary>
    public VcpuExit Run(ulong instructionBudget)
    {
        ulong stopAt = instructionBudget == ulong.MaxValue ? ulong.MaxValue : InstructionsRetired + instructionBudget;
        runStopAt = stopAt;
        while (true)
        {
            // An interrupt request that IF or a shadow holds back is left pending without a detour through
            // HandleEvents on every block: STI, POPF and IRET end their block, so the request is seen once it can be
            // taken. (A PIT left ticking by the firmware state keeps one pending for as long as a guest runs with IF=0.)
            int events = pendingEvents;
            if ((events != 0 && (events != (int)PendingEvent.InterruptRequest || InterruptsEnabled)) || halted || waitingForStartup)
            {
                var exit = HandleEvents();
                if (exit is { } lifecycle)
                {
                    return lifecycle;
                }

                if (halted || waitingForStartup)
                {
                    continue;
                }
            }

            if (shutdownReason != null)
            {
                return VcpuExit.Shutdown(shutdownReason);
            }

            if (failureReason != null)
            {
                return VcpuExit.Failure(failureReason);
            }

            ExecuteBlock();
            if (InstructionsRetired >= stopAt)
            {
                return VcpuExit.ExitRequested();
            }
        }
    }

    private VcpuExit? HandleEvents()
    {
        int events = pendingEvents;

        // INIT and STARTUP change the processor's state even when an exit is also requested, so they are not lost.
        if ((events & (int)(PendingEvent.Init | PendingEvent.Startup | PendingEvent.NonMaskableInterrupt)) != 0)
        {
            HandleProcessorSignals();
        }

        if ((events & (int)PendingEvent.ExitRequested) != 0)
        {
            ClearEvent(PendingEvent.ExitRequested);
            return VcpuExit.ExitRequested();
        }

        if ((events & (int)PendingEvent.DirtyLogSync) != 0)
        {
            ClearEvent(PendingEvent.DirtyLogSync);
            SyncDirtyLog();
        }

        if ((events & (int)PendingEvent.WriteTlbFlush) != 0)
        {
            ClearEvent(PendingEvent.WriteTlbFlush);
            FlushWriteTlb();
        }

        if (waitingForStartup)
        {
            // SDM 3A §9.4.2: in wait-for-SIPI the processor ignores everything but INIT and STARTUP.
            ClearEvent(PendingEvent.InterruptRequest | PendingEvent.TimerDeadline);
            SleepUntilWoken(null, interruptsCanWake: false);
            return null;
        }

        DeliverOwedDebugTrap();
        if (injectedInterrupt >= 0)
        {
            int injected = injectedInterrupt;
            injectedInterrupt = -1;
            halted = false;
            DeliverEvent(injected, false, 0, InterruptSource.External, Rip);
        }

        var controller = InterruptController;
        ClearEvent(PendingEvent.TimerDeadline);
        controller?.Poll(Clock.GetTimestamp());
        if ((pendingEvents & (int)PendingEvent.InterruptRequest) != 0 && InterruptsEnabled)
        {
            // Clear before asking, so a request raised while the controller answers is never lost; after a delivery
            // ask again at the next boundary, since more may be pending behind the one taken.
            ClearEvent(PendingEvent.InterruptRequest);
            if (controller != null && controller.TryAcknowledge(out int vector))
            {
                halted = false;
                DeliverEvent(vector, false, 0, InterruptSource.External, Rip);
                RaiseEvent(PendingEvent.InterruptRequest);
            }
        }

        if (halted)
        {
            SleepUntilWoken(controller, interruptsCanWake: true);
        }

        return null;
    }

    private bool InterruptsEnabled => (State->Rflags & (ulong)RflagsBits.InterruptEnable) != 0 && State->InterruptShadow == 0;

    /// <summary>
    /// Sleeps while halted (or waiting for STARTUP) until an event that can end the sleep is pending, or the controller's
    /// next deadline comes. An interrupt request ends it only when it can be taken (<paramref name="interruptsCanWake"/> and IF=1).
    /// </summary>
    private void SleepUntilWoken(IInterruptController? controller, bool interruptsCanWake)
    {
        const int interruptRequest = (int)PendingEvent.InterruptRequest;
        bool CanWake(int events) =>
            (events & ~interruptRequest) != 0 || ((events & interruptRequest) != 0 && interruptsCanWake && InterruptsEnabled);

        if (CanWake(pendingEvents))
        {
            return;
        }

        wakeUp.Reset();
        if (CanWake(pendingEvents))
        {
            return;
        }

        // No polling: every source of a wake-up sets wakeUp (RaiseEvent, Wake), and the local APIC's own host timer
        // raises the interrupt when its deadline passes, so without a deadline the sleep is unbounded and an idle
        // guest costs nothing. With one, waking at the deadline itself saves the host timer's millisecond rounding.
        long deadline = controller?.NextDeadline ?? long.MaxValue;
        if (deadline == long.MaxValue)
        {
            wakeUp.Wait(Timeout.Infinite);
            return;
        }

        long remainingTicks = deadline - Clock.GetTimestamp();
        if (remainingTicks > 0)
        {
            // Under a millisecond the wait's granularity would overshoot the deadline (Linux boots with sub-millisecond
            // timers), so yield and look again; longer waits end at the deadline or at the first wake-up.
            long milliseconds = remainingTicks * 1000 / Stopwatch.Frequency;
            if (milliseconds > 0)
            {
                wakeUp.Wait((int)Math.Min(milliseconds, int.MaxValue));
            }
            else
            {
                Thread.Yield();
            }
        }
    }

    /// <summary>HLT: stop fetching until an interrupt (or an exit request) arrives.</summary>
    internal void Halt()
    {
        halted = true;
        State->StopBlock = 1;
    }

    /// <summary>Wakes a halted CPU without an interrupt (INIT/SIPI, NMI and tests).</summary>
    public void Wake()
    {
        halted = false;
        wakeUp.Set();
    }

    private string? failureReason;

    /// <summary>Stops the vCPU with a failure the VMM reports (e.g. executing from MMIO).</summary>
    public void Fail(string reason)
    {
        failureReason ??= reason;
        State->StopBlock = 1;
    }

    private void ExecuteBlock()
    {
        var s = State;

        // One test keeps the common case fast: single-stepping, a resume flag to honour, or an armed breakpoint or debug
        // trap send the CPU down the one-instruction path with the checks between instructions (Cpu.DebugStep.cs).
        if ((s->Rflags & (ulong)(RflagsBits.Trap | RflagsBits.Resume)) != 0 || debugArmed)
        {
            ExecuteInstructionWithDebugChecks();
            return;
        }

        // After STI or MOV SS the shadow covers exactly one instruction: run that one alone, so an interrupt that was
        // held back is taken at the boundary right after it, not at the end of the block (SDM 3A §6.8.3).
        bool shadowed = s->InterruptShadow != 0;
        s->InterruptShadow = 0;
        ulong rip = s->Gpr[CpuState.RipIndex];
        var block = FindBlock(rip);
        if (block != null && (shadowed || !TryRunCompiled(block, rip)))
        {
            RunInstructions(block, rip, shadowed ? 1 : block.Count);
        }
    }

    /// <summary>The cached or freshly decoded block at <paramref name="rip"/>; null when fetching it faulted (delivered) or failed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private DecodedBlock? FindBlock(ulong rip)
    {
        int bits = CodeBits;
        ulong linear = CodeLinearAddress(rip, bits);
        if (!TryTranslateFetch(linear, out ulong physical, out byte* host))
        {
            DeliverPendingException();
            return null;
        }

        if (host == null)
        {
            Fail($"the guest jumped to 0x{physical:x}, which is not RAM (RIP 0x{rip:x})");
            return null;
        }

        uint generation = codeCache.GenerationOf(physical);
        var block = blockCache.Find(physical, bits, generation);
        if (block == null)
        {
            block = DecodeBlockAt(rip, linear, physical, host, bits, generation);
            if (block == null)
            {
                DeliverPendingException();
                return null;
            }
        }

        return block;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong CodeLinearAddress(ulong rip, int bits) =>
        bits == 64 ? rip : (rip + State->SegmentBase[(int)SegmentRegister.CS]) & 0xFFFF_FFFF;

    /// <summary>
    /// Runs up to <paramref name="count"/> instructions of <paramref name="block"/> from its start, stopping early when a
    /// handler asks; false when the last one faulted (its exception is delivered with RIP back at that instruction).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool RunInstructions(DecodedBlock block, ulong rip, int count)
    {
        var s = State;
        s->StopBlock = 0;

        // Blocks are ordinary arrays (cheap to allocate); pinning them for the run of the block is free.
        fixed (DecodedInstruction* first = block.Instructions)
        {
            DecodedInstruction* instruction = first;
            DecodedInstruction* end = first + count;
            do
            {
                s->Gpr[CpuState.RipIndex] = rip + instruction->EndOffset;
                instruction->Handler(this, instruction);
                instruction++;
            }
            while (instruction < end && s->StopBlock == 0);

            ulong executed = (ulong)(instruction - first);
            if (s->ExceptionPending != 0)
            {
                instruction--;
                executed--;
                s->Gpr[CpuState.RipIndex] = rip + instruction->EndOffset - instruction->Length;
                InstructionsRetired += executed;
                if (nonCanonicalDataAccess)
                {
                    ClassifyNonCanonicalFault(instruction);
                }

                DeliverPendingException();
                return false;
            }

            InstructionsRetired += executed;
            return true;
        }
    }

    private DecodedBlock? DecodeBlockAt(ulong rip, ulong linear, ulong physical, byte* host, int bits, uint generation)
    {
        int available = 4096 - (int)(linear & 0xFFF);
        var block = blockDecoder.Decode(host, available, rip, physical, bits, generation);
        if (block != null)
        {
            codeCache.MarkCode(physical, this);
            blockCache.Add(block);
            return block;
        }

        // The first instruction straddles a page boundary: gather its bytes through both translations. A fault here
        // names the second page, as hardware reports it.
        Span<byte> bytes = stackalloc byte[BlockDecoder.MaxLength];
        if (!TryReadBytes(linear, bytes, Paging.AccessKind.Fetch))
        {
            return null;
        }

        return blockDecoder.DecodeSingle(bytes, rip, bits);
    }
}

using Vessel.Core.Accel;

namespace Vessel.X86.Cpu;

/// <summary>
/// The processor's own signals, raised by the local APIC from any thread and acted on by the vCPU's thread at a block
/// boundary: INIT, STARTUP (SIPI) and NMI (Intel SDM 3A §9.4 and §11.6.1).
/// </summary>
public sealed unsafe partial class Cpu
{
    private volatile int startupVector;
    private bool waitingForStartup;

    /// <summary>Whether the CPU sits in the wait-for-SIPI state (an application processor before its STARTUP IPI).</summary>
    public bool WaitingForStartup => waitingForStartup;

    /// <summary>Whether this is the bootstrap processor, the one INIT restarts at the reset vector instead of parking.</summary>
    public bool IsBootstrapProcessor { get; set; }

    /// <summary>INIT: the CPU resets (keeping its APIC ID) at the next boundary; safe from any thread.</summary>
    public void SignalInit() => RaiseEvent(PendingEvent.Init);

    /// <summary>STARTUP with <paramref name="vector"/>: honoured only in the wait-for-SIPI state; safe from any thread.</summary>
    public void SignalStartup(int vector)
    {
        startupVector = vector & 0xFF;
        RaiseEvent(PendingEvent.Startup);
    }

    private bool nonMaskableInterruptBlocked;

    /// <summary>NMIs waiting for delivery: at most one while blocked, two otherwise (KVM's process_nmi).</summary>
    private int nonMaskableInterruptsLatched;

    /// <summary>NMIs signalled from other threads and not yet counted into the latch.</summary>
    private int nonMaskableInterruptsArriving;

    /// <summary>
    /// Set from the delivery of an NMI until the next IRET (SDM 3A §6.7.1): an NMI arriving meanwhile is latched, one deep,
    /// and delivered right after the IRET that unblocks it.
    /// </summary>
    public bool NmiBlocked
    {
        get => nonMaskableInterruptBlocked;
        set
        {
            nonMaskableInterruptBlocked = value;
            if (!value && nonMaskableInterruptsLatched != 0)
            {
                RaiseEvent(PendingEvent.NonMaskableInterrupt);
            }
        }
    }

    /// <summary>NMI: delivered through vector 2 whatever RFLAGS.IF says; safe from any thread.</summary>
    public void SignalNonMaskableInterrupt()
    {
        Interlocked.Increment(ref nonMaskableInterruptsArriving);
        RaiseEvent(PendingEvent.NonMaskableInterrupt);
    }

    /// <summary>Acts on INIT, STARTUP and NMI, in that order of precedence.</summary>
    private void HandleProcessorSignals()
    {
        int events = pendingEvents;
        if ((events & (int)PendingEvent.Init) != 0)
        {
            ClearEvent(PendingEvent.Init);
            ClearEvent(PendingEvent.NonMaskableInterrupt);
            Reset();
            halted = false;

            // SDM 3A §9.4.2: after INIT an application processor waits for a STARTUP IPI; the BSP restarts at the
            // reset vector (KVM: kvm_apic_accept_events makes the BSP runnable and the others INIT_RECEIVED). A
            // STARTUP already pending is taken next, as KVM does when INIT and SIPI arrive together.
            waitingForStartup = !IsBootstrapProcessor;
        }

        if ((pendingEvents & (int)PendingEvent.Startup) != 0)
        {
            ClearEvent(PendingEvent.Startup);
            if (waitingForStartup)
            {
                // SDM 3A §9.4.4 / §11.6.1: the vector VV starts the processor in real mode at VV00:0000.
                int vector = startupVector;
                var cs = SegmentState.RealMode((ushort)(vector << 8), code: true);
                SetSegmentCache(SegmentRegister.CS, cs);
                Rip = 0;
                waitingForStartup = false;
                halted = false;
            }
        }

        if ((pendingEvents & (int)PendingEvent.NonMaskableInterrupt) != 0 && !waitingForStartup)
        {
            // The STI and MOV SS shadows hold NMIs back too, as VMX reports them (blocking by STI / by MOV SS); the
            // event stays pending and is taken after the one shadowed instruction.
            if (State->InterruptShadow != 0)
            {
                return;
            }

            ClearEvent(PendingEvent.NonMaskableInterrupt);

            // Two NMIs signalled together both count, as long as the first is delivered at once: one runs and the
            // other waits for its IRET. A third, or a second while one runs, merges into the waiting one.
            int arrived = Interlocked.Exchange(ref nonMaskableInterruptsArriving, 0);
            nonMaskableInterruptsLatched = Math.Min(nonMaskableInterruptsLatched + arrived, nonMaskableInterruptBlocked ? 1 : 2);
            if (nonMaskableInterruptBlocked || nonMaskableInterruptsLatched == 0)
            {
                return;
            }

            nonMaskableInterruptsLatched--;
            halted = false;
            nonMaskableInterruptBlocked = true;
            DeliverEvent((int)ExceptionVector.NonMaskableInterrupt, false, 0, InterruptSource.External, Rip);
        }
    }
}

namespace Vessel.X86.Cpu;

/// <summary>
/// The local interrupt controller a CPU asks for its next external interrupt (our LAPIC, with the PIC behind LINT0).
/// When it has something to deliver it calls <see cref="Cpu.SignalInterrupt"/>; the CPU then acknowledges at a block boundary.
/// </summary>
public interface IInterruptController
{
    /// <summary>Returns the vector of the highest-priority deliverable interrupt and marks it in service; false if none.</summary>
    bool TryAcknowledge(out int vector);

    /// <summary>The next time (in the VM clock's Stopwatch-frequency ticks) something must be checked, or long.MaxValue.</summary>
    long NextDeadline { get; }

    /// <summary>Called at block boundaries and after HLT wake-ups to fire expired timers.</summary>
    void Poll(long now);

    /// <summary>TPR bits 7:0. MOV to and from CR8 reach its bits 7:4 (SDM 3A §11.8.6.1).</summary>
    uint TaskPriority { get; set; }
}

using Vessel.Core.Interrupts;
using Vessel.Core.Snapshots;

namespace Vessel.Core.Accel;

/// <summary>
/// A VM inside one accelerator: owns the vCPUs and the interrupt controllers the accelerator emulates
/// (KVM's in-kernel irqchip, or our own LAPIC/IOAPIC/PIC), so it is also where device interrupts go.
/// </summary>
public interface IAcceleratorVm : IMsiSink, IDisposable
{
    IVcpu CreateVcpu(int index, IVcpuIo io);

    /// <summary>Sets the level of a global system interrupt (GSI) line: IOAPIC pin, and the PIC pin for GSIs below 16.</summary>
    void SetIrqLine(int gsi, bool asserted);

    /// <summary>
    /// Writes the accelerator's part of a snapshot in a neutral layout both accelerators read: every vCPU created so far
    /// (registers, MSRs, FPU/SSE, local APIC, pending events, MP state), the interrupt controllers and the timers.
    /// Called with every vCPU parked outside Run.
    /// </summary>
    void SaveState(StateWriter writer) => throw new NotSupportedException($"{GetType().Name} cannot save machine state.");

    /// <summary>
    /// Applies what <see cref="SaveState"/> wrote (by either accelerator) to this VM, whose vCPUs were created in the same
    /// number beforehand and are parked. Validates everything before applying anything. Call it after the machine's
    /// <see cref="Time.VmClock"/> is restored and while it is paused: the TSC, the LAPIC timers and the PIT are re-armed
    /// relative to the clock's value at this call, so a clock changed afterwards would shift them.
    /// </summary>
    void RestoreState(StateReader reader) => throw new NotSupportedException($"{GetType().Name} cannot restore machine state.");

    /// <summary>Starts recording which guest pages vCPUs write, for diff snapshots and migration.</summary>
    void StartDirtyLog() => throw new NotSupportedException($"{GetType().Name} cannot track dirty pages.");

    /// <summary>
    /// Moves the pages vCPUs wrote since the last call into guest memory's dirty log (<see cref="Memory.GuestMemory.MarkDirty"/>),
    /// where device writes already are, so <see cref="Memory.GuestMemory.TakeDirtyPages"/> returns both.
    /// </summary>
    void CollectDirtyPages() => throw new NotSupportedException($"{GetType().Name} cannot track dirty pages.");
}

using Vessel.Core.Accel.State;

namespace Vessel.Core.Accel;

/// <summary>
/// One virtual CPU. <see cref="Run"/> executes guest code on the calling thread until a lifecycle event;
/// port and MMIO accesses are served through the <see cref="IVcpuIo"/> it was created with, inside Run().
/// </summary>
public interface IVcpu : IDisposable
{
    int Index { get; }

    void SetBootState(VcpuBootState state);

    VcpuExit Run();

    /// <summary>Asks Run() to return <see cref="VcpuExitReason.ExitRequested"/> soon; safe from any thread.</summary>
    void RequestExit();

    /// <summary>
    /// The vCPU's whole architectural state in the neutral layout (registers, MSRs, FPU/SSE, local APIC, events in flight,
    /// MP state). Called with the vCPU parked outside Run.
    /// </summary>
    VcpuState GetState() => throw new NotSupportedException($"{GetType().Name} cannot save vCPU state.");

    /// <summary>Loads what <see cref="GetState"/> returned, on this or the other accelerator; the vCPU is parked outside Run.</summary>
    void SetState(VcpuState state) => throw new NotSupportedException($"{GetType().Name} cannot restore vCPU state.");
}

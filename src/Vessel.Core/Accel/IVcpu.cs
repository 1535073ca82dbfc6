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
}

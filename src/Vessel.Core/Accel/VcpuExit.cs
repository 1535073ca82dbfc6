namespace Vessel.Core.Accel;

/// <summary>The lifecycle events that make <see cref="IVcpu.Run"/> return. I/O is never one of them.</summary>
public enum VcpuExitReason
{
    /// <summary>The host asked the vCPU to leave Run() (pause, stop, or a device ended the machine).</summary>
    ExitRequested,

    /// <summary>The vCPU entered shutdown (a triple fault).</summary>
    Shutdown,

    /// <summary>The vCPU asked for a platform reset.</summary>
    Reset,

    /// <summary>The guest powered off through the vCPU itself.</summary>
    PowerOff,

    /// <summary>The accelerator could not continue; <see cref="VcpuExit.Detail"/> says why.</summary>
    Failure,
}

public readonly record struct VcpuExit(VcpuExitReason Reason, string? Detail = null)
{
    public static VcpuExit ExitRequested() => new(VcpuExitReason.ExitRequested);

    public static VcpuExit Failure(string detail) => new(VcpuExitReason.Failure, detail);

    public static VcpuExit Shutdown(string detail) => new(VcpuExitReason.Shutdown, detail);
}

namespace Vessel.Client.Models;

/// <summary>
/// Firecracker's MachineConfiguration (<c>GET|PUT|PATCH /machine-config</c>). <see cref="VcpuCount"/> and
/// <see cref="MemSizeMib"/> are required by PUT and optional in PATCH, so both are nullable here.
/// </summary>
public sealed record MachineConfiguration
{
    public int? VcpuCount { get; init; }

    public int? MemSizeMib { get; init; }

    public bool? Smt { get; init; }

    /// <summary>Deprecated in Firecracker; only "None" is accepted.</summary>
    public string? CpuTemplate { get; init; }

    public bool? TrackDirtyPages { get; init; }

    /// <summary>"None", "Transparent" or "2M"; only "None" is accepted.</summary>
    public string? HugePages { get; init; }
}

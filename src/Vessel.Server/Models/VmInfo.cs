namespace Vessel.Server.Models;

/// <summary>One VM as the manager's API reports it (<c>GET /v1/vms</c>, <c>vessel ps --json</c>).</summary>
public sealed record VmInfo
{
    public required string Name { get; init; }

    /// <summary>One of <see cref="VmState"/>'s values.</summary>
    public required string State { get; init; }

    /// <summary>The VMM process's id while it runs; null otherwise.</summary>
    public int? Pid { get; init; }

    public int VcpuCount { get; init; }

    public int MemSizeMib { get; init; }

    /// <summary>When the VMM process started (UTC), while it runs.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>Seconds since <see cref="StartedAt"/>, while it runs.</summary>
    public double? UptimeSeconds { get; init; }

    /// <summary>Why the VM is Failed or Stopped (the exit status, the signal, the VMM's last error line).</summary>
    public string? Reason { get; init; }

    public VmLimits? Limits { get; init; }

    /// <summary>The snapshot state file a restored VM was created from (each start restores it again); null for a configured VM.</summary>
    public string? RestoredFrom { get; init; }
}

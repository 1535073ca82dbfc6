namespace Vessel.Server.Vms;

/// <summary>
/// What the daemon keeps of a VM in its state folder (<c>STATE/NAME/vm.json</c>) so that a restarted daemon finds it:
/// the state it last saw, and the VMM process it started (pid and start time) to re-adopt or report lost.
/// </summary>
public sealed record VmRecord
{
    public required string Name { get; init; }

    public required string State { get; init; }

    public int VcpuCount { get; init; }

    public int MemSizeMib { get; init; }

    public int? Pid { get; init; }

    public long? ProcessStartTicks { get; init; }

    public DateTimeOffset? StartedAt { get; init; }

    public string? Reason { get; init; }

    /// <summary>For a VM restored from a snapshot (it has no config.json): the snapshot's state file and memory file.</summary>
    public string? SnapshotPath { get; init; }

    public string? MemFilePath { get; init; }
}

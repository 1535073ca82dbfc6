namespace Vessel.Server.Models;

/// <summary>
/// The body of <c>POST /v1/vms/NAME/snapshot</c>: where the VMM writes the machine's state and its memory (absolute
/// paths on the daemon's host), and Firecracker's <c>snapshot_type</c>, <c>Full</c> (the default) or <c>Diff</c>.
/// </summary>
public sealed record SnapshotVmRequest
{
    public string? SnapshotPath { get; init; }

    public string? MemFilePath { get; init; }

    public string? SnapshotType { get; init; }
}

namespace Vessel.Server.Models;

/// <summary>
/// The <c>restore</c> of <c>POST /v1/vms</c>, in place of <c>config</c>: the snapshot a VM is restored from (its state
/// file and its memory file, absolute paths on the daemon's host), as <c>vessel snapshot NAME</c> wrote them.
/// </summary>
public sealed record RestoreSource
{
    public string? SnapshotPath { get; init; }

    public string? MemFilePath { get; init; }
}

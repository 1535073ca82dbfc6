namespace Vessel.Client.Models;

/// <summary>Firecracker's SnapshotLoadParams (<c>PUT /snapshot/load</c>); only into a microVM not yet configured or started.</summary>
public sealed record SnapshotLoadParams
{
    public required string SnapshotPath { get; init; }

    /// <summary>The guest memory file; give this or <see cref="MemFilePath"/> (the older field), not both.</summary>
    public MemoryBackend? MemBackend { get; init; }

    /// <summary>Deprecated in Firecracker in favour of <see cref="MemBackend"/>; still accepted.</summary>
    public string? MemFilePath { get; init; }

    /// <summary>Record dirty pages from the start, so the restored microVM can take diff snapshots.</summary>
    public bool? TrackDirtyPages { get; init; }

    /// <summary>Deprecated name for <see cref="TrackDirtyPages"/>.</summary>
    public bool? EnableDiffSnapshots { get; init; }

    /// <summary>Resume the microVM once loaded (otherwise it stays Paused).</summary>
    public bool? ResumeVm { get; init; }
}

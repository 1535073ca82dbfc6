namespace Vessel.Client.Models;

/// <summary>Firecracker's SnapshotCreateParams (<c>PUT /snapshot/create</c>); the microVM must be paused.</summary>
public sealed record SnapshotCreateParams
{
    public const string Full = "Full";
    public const string Diff = "Diff";

    /// <summary>"Full" (the default) or "Diff" (only pages written since the last snapshot; needs track_dirty_pages).</summary>
    public string? SnapshotType { get; init; }

    /// <summary>Where the machine's state (vCPUs, devices, configuration) is written.</summary>
    public required string SnapshotPath { get; init; }

    /// <summary>Where guest memory is written.</summary>
    public required string MemFilePath { get; init; }

    /// <summary>Firecracker's deprecated target version; accepted and ignored.</summary>
    public string? Version { get; init; }
}

namespace Vessel.Vmm.Snapshots;

/// <summary>Firecracker's <c>snapshot_type</c>: what the memory file receives.</summary>
public enum SnapshotType
{
    /// <summary>All guest RAM (pages that are all zeros are left as holes in a sparse file).</summary>
    Full,

    /// <summary>Only the pages written since the previous snapshot (or the restore), at their offsets; the rest of the file is left as it was.</summary>
    Diff,
}

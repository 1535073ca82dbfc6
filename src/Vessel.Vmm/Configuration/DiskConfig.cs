using Vessel.Devices.Storage;

namespace Vessel.Vmm.Configuration;

/// <summary>
/// One virtio-blk disk, shaped like Firecracker's drive resource (<c>drive_id</c>, <c>path_on_host</c>, <c>is_read_only</c>).
/// Disks appear to the guest in the order given: vda, vdb, ...
/// </summary>
public sealed record DiskConfig
{
    /// <summary>The drive's name (Firecracker's <c>drive_id</c>); also the virtio-blk serial the guest reads with GET_ID (first 20 bytes).</summary>
    public required string Id { get; init; }

    /// <summary>The image file on the host.</summary>
    public required string Path { get; init; }

    public bool ReadOnly { get; init; }

    /// <summary>The image format; null probes the file (qcow2 by its magic, anything else raw).</summary>
    public DiskImageFormat? Format { get; init; }
}

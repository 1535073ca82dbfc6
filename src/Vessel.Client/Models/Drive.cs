namespace Vessel.Client.Models;

/// <summary>Firecracker's Drive (<c>PUT /drives/{drive_id}</c>): one virtio-blk disk.</summary>
public sealed record Drive
{
    public required string DriveId { get; init; }

    public string? PathOnHost { get; init; }

    public bool? IsRootDevice { get; init; }

    public bool? IsReadOnly { get; init; }

    public string? Partuuid { get; init; }

    /// <summary>"Unsafe" (the default) or "Writeback".</summary>
    public string? CacheType { get; init; }

    /// <summary>"Sync" (the default) or "Async".</summary>
    public string? IoEngine { get; init; }

    public RateLimiter? RateLimiter { get; init; }

    /// <summary>vhost-user-block's socket; not supported by Vessel.</summary>
    public string? Socket { get; init; }
}

namespace Vessel.Vmm.Configuration;

/// <summary>
/// One virtio-net interface, shaped like Firecracker's network-interface resource (<c>iface_id</c>, <c>host_dev_name</c>,
/// <c>guest_mac</c>). Accepted and validated now; the machine refuses to start with one until virtio-net exists.
/// </summary>
public sealed record NetworkInterfaceConfig
{
    public required string Id { get; init; }

    /// <summary>The host's TAP device.</summary>
    public required string HostDeviceName { get; init; }

    /// <summary>The guest's MAC address ("06:00:AC:10:00:02"); null lets the device choose.</summary>
    public string? GuestMac { get; init; }

    public RateLimiterConfig? ReceiveRateLimiter { get; init; }

    public RateLimiterConfig? TransmitRateLimiter { get; init; }
}

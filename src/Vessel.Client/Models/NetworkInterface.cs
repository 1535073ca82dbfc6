namespace Vessel.Client.Models;

/// <summary>Firecracker's NetworkInterface (<c>PUT /network-interfaces/{iface_id}</c>): a virtio-net device on a host TAP.</summary>
public sealed record NetworkInterface
{
    public required string IfaceId { get; init; }

    public required string HostDevName { get; init; }

    public string? GuestMac { get; init; }

    public int? Mtu { get; init; }

    public RateLimiter? RxRateLimiter { get; init; }

    public RateLimiter? TxRateLimiter { get; init; }
}

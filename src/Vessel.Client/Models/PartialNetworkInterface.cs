namespace Vessel.Client.Models;

/// <summary>Firecracker's PartialNetworkInterface (<c>PATCH /network-interfaces/{iface_id}</c>, after start): new rate limiters.</summary>
public sealed record PartialNetworkInterface
{
    public required string IfaceId { get; init; }

    public RateLimiter? RxRateLimiter { get; init; }

    public RateLimiter? TxRateLimiter { get; init; }
}

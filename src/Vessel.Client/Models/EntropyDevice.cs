namespace Vessel.Client.Models;

/// <summary>Firecracker's EntropyDevice (<c>PUT /entropy</c>): a virtio-rng device.</summary>
public sealed record EntropyDevice
{
    public RateLimiter? RateLimiter { get; init; }
}

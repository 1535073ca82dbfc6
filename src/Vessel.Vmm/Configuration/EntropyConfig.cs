namespace Vessel.Vmm.Configuration;

/// <summary>The virtio-rng device (Firecracker's entropy resource). Every machine has one; a rate limit is not supported yet.</summary>
public sealed record EntropyConfig
{
    public RateLimiterConfig? RateLimiter { get; init; }
}

namespace Vessel.Vmm.Configuration;

/// <summary>The virtio-rng device (Firecracker's entropy resource); the machine refuses to start with it until virtio-rng exists.</summary>
public sealed record EntropyConfig
{
    public RateLimiterConfig? RateLimiter { get; init; }
}

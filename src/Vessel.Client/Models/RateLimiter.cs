namespace Vessel.Client.Models;

/// <summary>Firecracker's RateLimiter: independent byte and operation token buckets.</summary>
public sealed record RateLimiter
{
    public TokenBucket? Bandwidth { get; init; }

    public TokenBucket? Ops { get; init; }
}

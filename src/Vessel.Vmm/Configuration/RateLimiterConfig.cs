namespace Vessel.Vmm.Configuration;

/// <summary>Firecracker's rate limiter: a token bucket for bytes and one for operations, either optional.</summary>
public sealed record RateLimiterConfig(TokenBucketConfig? Bandwidth, TokenBucketConfig? Operations);

/// <summary>
/// A token bucket: <paramref name="Size"/> tokens refill over <paramref name="RefillTimeMilliseconds"/>, plus a
/// <paramref name="OneTimeBurst"/> spent first.
/// </summary>
public sealed record TokenBucketConfig(ulong Size, ulong OneTimeBurst, ulong RefillTimeMilliseconds);

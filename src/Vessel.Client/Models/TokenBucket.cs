namespace Vessel.Client.Models;

/// <summary>Firecracker's TokenBucket: <see cref="Size"/> tokens refilled every <see cref="RefillTime"/> ms, after a <see cref="OneTimeBurst"/>.</summary>
public sealed record TokenBucket
{
    public required long Size { get; init; }

    public long? OneTimeBurst { get; init; }

    public required long RefillTime { get; init; }
}

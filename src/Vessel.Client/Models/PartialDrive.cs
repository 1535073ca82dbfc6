namespace Vessel.Client.Models;

/// <summary>Firecracker's PartialDrive (<c>PATCH /drives/{drive_id}</c>, after start): a new backing file or rate limiter.</summary>
public sealed record PartialDrive
{
    public required string DriveId { get; init; }

    public string? PathOnHost { get; init; }

    public RateLimiter? RateLimiter { get; init; }
}

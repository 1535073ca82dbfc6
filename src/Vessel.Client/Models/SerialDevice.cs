namespace Vessel.Client.Models;

/// <summary>Firecracker's SerialDevice (<c>PUT /serial</c>): a file or named pipe that takes the guest's serial output instead of stdout.</summary>
public sealed record SerialDevice
{
    public string? SerialOutPath { get; init; }

    public TokenBucket? RateLimiter { get; init; }
}

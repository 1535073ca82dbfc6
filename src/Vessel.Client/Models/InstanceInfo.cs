namespace Vessel.Client.Models;

/// <summary>Firecracker's InstanceInfo (<c>GET /</c>): <see cref="State"/> is "Not started", "Running" or "Paused".</summary>
public sealed record InstanceInfo
{
    public const string NotStarted = "Not started";
    public const string Running = "Running";
    public const string Paused = "Paused";

    public required string AppName { get; init; }

    public required string Id { get; init; }

    public required string State { get; init; }

    public required string VmmVersion { get; init; }
}

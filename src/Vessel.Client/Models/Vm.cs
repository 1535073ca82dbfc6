namespace Vessel.Client.Models;

/// <summary>Firecracker's Vm (<c>PATCH /vm</c>): "Paused" or "Resumed".</summary>
public sealed record Vm
{
    public const string Paused = "Paused";
    public const string Resumed = "Resumed";

    public required string State { get; init; }
}

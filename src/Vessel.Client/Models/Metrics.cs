namespace Vessel.Client.Models;

/// <summary>Firecracker's Metrics (<c>PUT /metrics</c>): the file or named pipe that JSON metrics lines are flushed to.</summary>
public sealed record Metrics
{
    public required string MetricsPath { get; init; }
}

namespace Vessel.Client.Models;

/// <summary>Firecracker's Error body: every 4xx answer carries one.</summary>
public sealed record ApiError
{
    public required string FaultMessage { get; init; }
}

namespace Vessel.Client.Models;

/// <summary>Firecracker's Vsock (<c>PUT /vsock</c>): the guest's context ID and the host Unix socket behind it.</summary>
public sealed record Vsock
{
    public required long GuestCid { get; init; }

    public required string UdsPath { get; init; }

    /// <summary>Deprecated in Firecracker; accepted and ignored.</summary>
    public string? VsockId { get; init; }
}

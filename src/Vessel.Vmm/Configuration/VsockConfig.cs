namespace Vessel.Vmm.Configuration;

/// <summary>
/// The virtio-vsock device, shaped like Firecracker's vsock resource: the guest's context ID and the host Unix socket
/// that guest connections reach. Accepted and validated now; the machine refuses to start with it until virtio-vsock exists.
/// </summary>
public sealed record VsockConfig
{
    /// <summary>Firecracker's minimum: CIDs 0-2 are reserved (hypervisor, local, host).</summary>
    public const uint MinGuestCid = 3;

    public required uint GuestCid { get; init; }

    public required string UdsPath { get; init; }
}

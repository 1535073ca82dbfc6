namespace Vessel.Devices.Virtio.Vsock;

/// <summary>Where a vsock connection stands.</summary>
internal enum VsockConnectionState
{
    /// <summary>A host client asked for a guest port: the REQUEST is sent or about to be, and the guest has not answered.</summary>
    AwaitingGuestResponse,

    /// <summary>Both ends are connected; data flows under credit.</summary>
    Established,
}

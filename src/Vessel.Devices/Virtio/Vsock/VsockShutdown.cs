namespace Vessel.Devices.Virtio.Vsock;

/// <summary>virtio_vsock_hdr.flags of a SHUTDOWN packet (virtio 1.2 §5.10.6.5).</summary>
[Flags]
public enum VsockShutdown : uint
{
    None = 0,

    /// <summary>VIRTIO_VSOCK_SHUTDOWN_F_RECEIVE: the sender will receive no more data.</summary>
    Receive = 1,

    /// <summary>VIRTIO_VSOCK_SHUTDOWN_F_SEND: the sender will send no more data.</summary>
    Send = 2,

    Both = Receive | Send,
}

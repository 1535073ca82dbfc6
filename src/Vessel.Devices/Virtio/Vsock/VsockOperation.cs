namespace Vessel.Devices.Virtio.Vsock;

/// <summary>virtio_vsock_hdr.op (virtio 1.2 §5.10.6).</summary>
public enum VsockOperation : ushort
{
    Invalid = 0,

    /// <summary>VIRTIO_VSOCK_OP_REQUEST: open a connection.</summary>
    Request = 1,

    /// <summary>VIRTIO_VSOCK_OP_RESPONSE: the connection is accepted.</summary>
    Response = 2,

    /// <summary>VIRTIO_VSOCK_OP_RST: the connection is refused or gone.</summary>
    Reset = 3,

    /// <summary>VIRTIO_VSOCK_OP_SHUTDOWN: the sender will not receive and/or send any more (flags say which).</summary>
    Shutdown = 4,

    /// <summary>VIRTIO_VSOCK_OP_RW: stream data.</summary>
    ReadWrite = 5,

    /// <summary>VIRTIO_VSOCK_OP_CREDIT_UPDATE: the sender's buf_alloc and fwd_cnt, unprompted or as an answer.</summary>
    CreditUpdate = 6,

    /// <summary>VIRTIO_VSOCK_OP_CREDIT_REQUEST: asks for a CREDIT_UPDATE.</summary>
    CreditRequest = 7,
}

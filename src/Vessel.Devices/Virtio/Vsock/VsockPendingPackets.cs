namespace Vessel.Devices.Virtio.Vsock;

/// <summary>Control packets a connection owes the guest, sent in this order before any data.</summary>
[Flags]
internal enum VsockPendingPackets
{
    None = 0,
    Request = 1,
    Response = 2,

    /// <summary>A CREDIT_UPDATE (asked for, or enough bytes forwarded that the guest should hear); any packet also carries it.</summary>
    CreditUpdate = 4,

    /// <summary>SHUTDOWN with SEND: the host end reached end of stream; sent after the last data.</summary>
    Shutdown = 8,
}

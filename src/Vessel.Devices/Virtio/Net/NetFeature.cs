namespace Vessel.Devices.Virtio.Net;

/// <summary>virtio-net feature bits (virtio 1.2 §5.1.3).</summary>
public static class NetFeature
{
    /// <summary>VIRTIO_NET_F_CSUM (0): the device takes frames whose checksum the driver left partial.</summary>
    public const ulong Checksum = 1UL << 0;

    /// <summary>VIRTIO_NET_F_GUEST_CSUM (1): the driver takes frames marked partial or already validated.</summary>
    public const ulong GuestChecksum = 1UL << 1;

    /// <summary>VIRTIO_NET_F_MTU (3): the configuration's mtu field is valid.</summary>
    public const ulong Mtu = 1UL << 3;

    /// <summary>VIRTIO_NET_F_MAC (5): the configuration's mac field is valid.</summary>
    public const ulong Mac = 1UL << 5;

    /// <summary>VIRTIO_NET_F_GUEST_TSO4 (7): the driver takes TCPv4 segmentation-offloaded frames.</summary>
    public const ulong GuestTso4 = 1UL << 7;

    /// <summary>VIRTIO_NET_F_GUEST_TSO6 (8).</summary>
    public const ulong GuestTso6 = 1UL << 8;

    /// <summary>VIRTIO_NET_F_GUEST_ECN (9).</summary>
    public const ulong GuestEcn = 1UL << 9;

    /// <summary>VIRTIO_NET_F_GUEST_UFO (10).</summary>
    public const ulong GuestUfo = 1UL << 10;

    /// <summary>VIRTIO_NET_F_HOST_TSO4 (11): the device takes TCPv4 frames larger than the MTU to segment.</summary>
    public const ulong HostTso4 = 1UL << 11;

    /// <summary>VIRTIO_NET_F_HOST_TSO6 (12).</summary>
    public const ulong HostTso6 = 1UL << 12;

    /// <summary>VIRTIO_NET_F_HOST_ECN (13).</summary>
    public const ulong HostEcn = 1UL << 13;

    /// <summary>VIRTIO_NET_F_HOST_UFO (14).</summary>
    public const ulong HostUfo = 1UL << 14;

    /// <summary>VIRTIO_NET_F_MRG_RXBUF (15): a received frame may span several receive buffers (num_buffers says how many).</summary>
    public const ulong MergeableReceiveBuffers = 1UL << 15;

    /// <summary>VIRTIO_NET_F_STATUS (16): the configuration's status field (link up) is valid.</summary>
    public const ulong Status = 1UL << 16;

    /// <summary>
    /// The offloads a TAP device with IFF_VNET_HDR accepts in both directions: checksum and TCP segmentation. UFO is left out:
    /// Linux 4.14 removed UDP fragmentation offload, and TUNSETOFFLOAD refuses TUN_F_UFO on kernels without it.
    /// </summary>
    public const ulong TapOffloads = Checksum | GuestChecksum | GuestTso4 | GuestTso6 | GuestEcn | HostTso4 | HostTso6 | HostEcn;
}

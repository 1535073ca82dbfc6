using System.Buffers.Binary;

namespace Vessel.Devices.Virtio.Net;

/// <summary>
/// struct virtio_net_hdr (virtio 1.2 §5.1.6): flags, gso_type, hdr_len, gso_size, csum_start, csum_offset, num_buffers. With
/// VERSION_1 it is always 12 bytes, num_buffers included, whether or not MRG_RXBUF was negotiated (§5.1.6.1).
/// </summary>
public static class NetHeader
{
    public const int Size = 12;

    /// <summary>Offset of num_buffers, the count of receive buffers a merged frame used.</summary>
    public const int NumBuffersOffset = 10;

    /// <summary>VIRTIO_NET_HDR_F_NEEDS_CSUM: the checksum from csum_start is partial and still to be finished.</summary>
    public const byte FlagNeedsChecksum = 1;

    /// <summary>VIRTIO_NET_HDR_F_DATA_VALID: the device already checked the frame's checksums.</summary>
    public const byte FlagDataValid = 2;

    /// <summary>VIRTIO_NET_HDR_GSO_NONE.</summary>
    public const byte GsoNone = 0;

    /// <summary>A header for a received frame: no offload, and checksums marked valid when the driver can take that.</summary>
    public static void WriteReceive(Span<byte> header, bool dataValid, ushort numBuffers)
    {
        header[..Size].Clear();
        header[0] = dataValid ? FlagDataValid : (byte)0;
        BinaryPrimitives.WriteUInt16LittleEndian(header[NumBuffersOffset..], numBuffers);
    }
}

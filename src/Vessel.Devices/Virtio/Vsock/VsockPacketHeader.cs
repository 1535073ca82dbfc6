using System.Buffers.Binary;

namespace Vessel.Devices.Virtio.Vsock;

/// <summary>
/// struct virtio_vsock_hdr (virtio 1.2 §5.10.6), 44 little-endian bytes before every packet's payload in both directions:
/// addresses, the payload length, socket type, operation, flags, and the sender's credit (buf_alloc, fwd_cnt).
/// </summary>
public struct VsockPacketHeader
{
    public const int Size = 44;

    /// <summary>VIRTIO_VSOCK_TYPE_STREAM: the only socket type offered (SEQPACKET is not).</summary>
    public const ushort StreamType = 1;

    /// <summary>The host's context ID (VMADDR_CID_HOST).</summary>
    public const ulong HostCid = 2;

    public ulong SourceCid;
    public ulong DestinationCid;
    public uint SourcePort;
    public uint DestinationPort;
    public uint Length;
    public ushort Type;
    public VsockOperation Operation;
    public uint Flags;
    public uint BufferAllocation;
    public uint ForwardCount;

    public static VsockPacketHeader Read(ReadOnlySpan<byte> bytes) => new()
    {
        SourceCid = BinaryPrimitives.ReadUInt64LittleEndian(bytes),
        DestinationCid = BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]),
        SourcePort = BinaryPrimitives.ReadUInt32LittleEndian(bytes[16..]),
        DestinationPort = BinaryPrimitives.ReadUInt32LittleEndian(bytes[20..]),
        Length = BinaryPrimitives.ReadUInt32LittleEndian(bytes[24..]),
        Type = BinaryPrimitives.ReadUInt16LittleEndian(bytes[28..]),
        Operation = (VsockOperation)BinaryPrimitives.ReadUInt16LittleEndian(bytes[30..]),
        Flags = BinaryPrimitives.ReadUInt32LittleEndian(bytes[32..]),
        BufferAllocation = BinaryPrimitives.ReadUInt32LittleEndian(bytes[36..]),
        ForwardCount = BinaryPrimitives.ReadUInt32LittleEndian(bytes[40..]),
    };

    public readonly void Write(Span<byte> bytes)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, SourceCid);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[8..], DestinationCid);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[16..], SourcePort);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[20..], DestinationPort);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[24..], Length);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[28..], Type);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[30..], (ushort)Operation);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[32..], Flags);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[36..], BufferAllocation);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[40..], ForwardCount);
    }
}

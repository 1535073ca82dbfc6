using System.Buffers.Binary;
using System.Text;
using Vessel.Core.Logging;
using Vessel.Core.Memory;
using Vessel.Core.Snapshots;
using Vessel.Devices.Storage;
using Vessel.Devices.Virtio.Queues;

namespace Vessel.Devices.Virtio.Block;

/// <summary>
/// virtio-blk (virtio 1.2 §5.2) over an <see cref="IBlockBackend"/>: reads, writes, flush, discard, write-zeroes and GET_ID,
/// one request queue. Data moves straight between the image and the guest's buffers, with no copy in between; every sector
/// range is checked against the capacity before the backend sees it.
/// </summary>
public sealed class VirtioBlockDevice : VirtioDevice, IStateful
{
    public const int SectorSize = 512;

    /// <summary>GET_ID answers with up to 20 bytes (VIRTIO_BLK_ID_BYTES).</summary>
    public const int IdentifierLength = 20;

    /// <summary>Requests are served in pieces of at most this many bytes, so one huge descriptor never needs one huge span.</summary>
    private const int MaximumPiece = 1 << 20;

    private const int HeaderSize = 16;
    private const int DiscardSegmentSize = 16;
    private const int ConfigurationBytes = 0x3C;

    /// <summary>Discard and write-zeroes: at most this many segments and sectors per request (what the config space advertises).</summary>
    private const uint MaximumDiscardSegments = 32;
    private const uint MaximumDiscardSectors = uint.MaxValue / SectorSize;

    private readonly IBlockBackend backend;
    private readonly byte[] identifier = new byte[IdentifierLength];
    private readonly byte[] configuration = new byte[ConfigurationBytes];
    private readonly DescriptorChain chain;
    private readonly Func<DescriptorChain, uint> serve;
    private readonly IMachineLog log;
    private readonly string name;

    /// <summary>Host I/O errors a guest can provoke in a loop: five at once, then one a minute, with a count of the rest.</summary>
    private readonly LogRateLimiter ioErrorReports = new(refillInterval: TimeSpan.FromSeconds(60));

    public VirtioBlockDevice(IBlockBackend backend, string identifier, IMachineLog log, ushort queueSize = 256)
    {
        this.backend = backend;
        MaximumQueueSize = queueSize;
        Encoding.ASCII.GetBytes(identifier.AsSpan(0, Math.Min(identifier.Length, IdentifierLength)), this.identifier);
        chain = new DescriptorChain(queueSize);
        serve = Serve;
        this.log = log;
        name = $"virtio-blk '{identifier}'";
        Capacity = backend.Size / SectorSize;

        var config = configuration.AsSpan();
        BinaryPrimitives.WriteUInt64LittleEndian(config, Capacity);
        BinaryPrimitives.WriteUInt32LittleEndian(config[0x0C..], (uint)queueSize - 2);
        BinaryPrimitives.WriteUInt32LittleEndian(config[0x14..], SectorSize);
        BinaryPrimitives.WriteUInt16LittleEndian(config[0x22..], 1);
        BinaryPrimitives.WriteUInt32LittleEndian(config[0x24..], MaximumDiscardSectors);
        BinaryPrimitives.WriteUInt32LittleEndian(config[0x28..], MaximumDiscardSegments);
        BinaryPrimitives.WriteUInt32LittleEndian(config[0x2C..], 1);
        BinaryPrimitives.WriteUInt32LittleEndian(config[0x30..], MaximumDiscardSectors);
        BinaryPrimitives.WriteUInt32LittleEndian(config[0x34..], MaximumDiscardSegments);
        config[0x38] = 1;
    }

    public override VirtioDeviceType Type => VirtioDeviceType.Block;

    public override ulong DeviceFeatures =>
        BlockFeature.SegmentMaximum | BlockFeature.BlockSize | BlockFeature.Flush
        | (backend.ReadOnly ? BlockFeature.ReadOnly : BlockFeature.Discard | BlockFeature.WriteZeroes);

    public override int QueueCount => 1;

    public override ushort MaximumQueueSize { get; }

    public override int ConfigurationSize => ConfigurationBytes;

    /// <summary>The disk's size in 512-byte sectors.</summary>
    public ulong Capacity { get; }

    public int StateVersion => 1;

    /// <summary>
    /// The disk as the guest knows it (capacity, read-only), so a restore onto a different disk is refused; requests have
    /// no state between queue services (each is served to completion), and the disk's contents are the image file's.
    /// </summary>
    public void SaveState(StateWriter writer)
    {
        writer.WriteUInt64(Capacity);
        writer.WriteBool(backend.ReadOnly);
    }

    public void RestoreState(StateReader reader, int version)
    {
        ulong capacity = reader.ReadUInt64();
        bool readOnly = reader.ReadBool();
        if (capacity != Capacity || readOnly != backend.ReadOnly)
        {
            throw new SnapshotFormatException(
                $"{name}: the snapshot's disk had {capacity} sectors{(readOnly ? ", read-only" : string.Empty)} and this one has {Capacity}{(backend.ReadOnly ? ", read-only" : string.Empty)}; restore with the disk the snapshot was taken with.");
        }
    }

    public override void ReadConfiguration(int offset, Span<byte> data) => configuration.AsSpan(offset, data.Length).CopyTo(data);

    public override void ProcessQueue(int queueIndex) => ServeRequests(queueIndex, chain, serve);

    private uint Serve(DescriptorChain request)
    {
        var memory = Context!.Memory;

        // §5.2.6.1: the last writable byte is the status; a request without one cannot be answered at all.
        if (request.WritableLength == 0)
        {
            return 0;
        }

        Span<byte> header = stackalloc byte[HeaderSize];
        ulong dataWritable = request.WritableLength - 1;
        BlockRequestStatus status;
        uint written = 0;
        if (request.Read(memory, 0, header) != HeaderSize)
        {
            status = BlockRequestStatus.IoError;
        }
        else
        {
            var type = (BlockRequestType)BinaryPrimitives.ReadUInt32LittleEndian(header);
            ulong sector = BinaryPrimitives.ReadUInt64LittleEndian(header[8..]);
            try
            {
                (status, written) = type switch
                {
                    BlockRequestType.In => Transfer(request, sector, dataWritable, toGuest: true),
                    BlockRequestType.Out => Transfer(request, sector, request.ReadableLength - HeaderSize, toGuest: false),
                    BlockRequestType.Flush => (Flush(), 0u),
                    BlockRequestType.GetId => (BlockRequestStatus.Ok, (uint)request.Write(memory, 0, identifier.AsSpan(0, (int)Math.Min(dataWritable, IdentifierLength)))),
                    BlockRequestType.Discard or BlockRequestType.WriteZeroes => (Unmap(request, type), 0u),
                    _ => (BlockRequestStatus.Unsupported, 0u),
                };
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                if (ioErrorReports.TryAcquire(out long heldBack))
                {
                    log.Warn(LogRateLimiter.Summarize($"{name}: {type} at sector {sector} failed on the host: {exception.Message}", heldBack));
                }

                status = BlockRequestStatus.IoError;
                written = 0;
            }
        }

        Span<byte> statusByte = [(byte)status];
        request.Write(memory, dataWritable, statusByte);
        return written + 1;
    }

    private BlockRequestStatus Flush()
    {
        backend.Flush();
        return BlockRequestStatus.Ok;
    }

    /// <summary>Moves <paramref name="length"/> bytes between the disk at <paramref name="sector"/> and the chain's data buffers.</summary>
    private (BlockRequestStatus, uint) Transfer(DescriptorChain request, ulong sector, ulong length, bool toGuest)
    {
        if (!toGuest && backend.ReadOnly)
        {
            return (BlockRequestStatus.IoError, 0);
        }

        if (length % SectorSize != 0 || !InRange(sector, length / SectorSize))
        {
            return (BlockRequestStatus.IoError, 0);
        }

        var memory = Context!.Memory;
        ulong diskOffset = sector * SectorSize;
        ulong skip = toGuest ? 0UL : HeaderSize;
        ulong remaining = length;
        foreach (var segment in request.Segments)
        {
            if (remaining == 0)
            {
                break;
            }

            if (segment.DeviceWritable != toGuest)
            {
                continue;
            }

            ulong start = Math.Min(skip, segment.Length);
            skip -= start;
            for (ulong at = start; at < segment.Length && remaining > 0;)
            {
                int piece = (int)Math.Min(Math.Min(segment.Length - at, remaining), MaximumPiece);
                var address = segment.Address + at;
                if (!memory.TryGetSpan(address, piece, out var buffer))
                {
                    return (BlockRequestStatus.IoError, 0);
                }

                if (toGuest)
                {
                    backend.Read(diskOffset, buffer);
                    memory.NotifyExternalWrite(address, (ulong)piece);
                }
                else
                {
                    backend.Write(diskOffset, buffer);
                }

                diskOffset += (ulong)piece;
                remaining -= (ulong)piece;
                at += (ulong)piece;
            }
        }

        return (BlockRequestStatus.Ok, toGuest ? (uint)Math.Min(length, uint.MaxValue - 1) : 0);
    }

    /// <summary>DISCARD and WRITE_ZEROES carry segments of (sector, num_sectors, flags) in their readable data (§5.2.6).</summary>
    private BlockRequestStatus Unmap(DescriptorChain request, BlockRequestType type)
    {
        if (backend.ReadOnly)
        {
            return BlockRequestStatus.IoError;
        }

        ulong dataLength = request.ReadableLength - HeaderSize;
        if (dataLength == 0 || dataLength % DiscardSegmentSize != 0 || dataLength / DiscardSegmentSize > MaximumDiscardSegments)
        {
            return BlockRequestStatus.IoError;
        }

        var memory = Context!.Memory;
        Span<byte> segment = stackalloc byte[DiscardSegmentSize];
        for (ulong offset = HeaderSize; offset < request.ReadableLength; offset += DiscardSegmentSize)
        {
            request.Read(memory, offset, segment);
            ulong sector = BinaryPrimitives.ReadUInt64LittleEndian(segment);
            uint count = BinaryPrimitives.ReadUInt32LittleEndian(segment[8..]);
            uint flags = BinaryPrimitives.ReadUInt32LittleEndian(segment[12..]);

            // §5.2.6.2: only the unmap flag (bit 0) is defined, and only for WRITE_ZEROES.
            if ((flags & ~1u) != 0 || (type == BlockRequestType.Discard && flags != 0) || !InRange(sector, count))
            {
                return BlockRequestStatus.Unsupported;
            }

            if (type == BlockRequestType.Discard)
            {
                backend.Discard(sector * SectorSize, (ulong)count * SectorSize);
            }
            else
            {
                backend.WriteZeroes(sector * SectorSize, (ulong)count * SectorSize, mayUnmap: (flags & 1) != 0);
            }
        }

        return BlockRequestStatus.Ok;
    }

    private bool InRange(ulong sector, ulong count) => sector <= Capacity && count <= Capacity - sector;
}

using System.Buffers.Binary;
using System.IO.Compression;

namespace Vessel.Devices.Storage.Qcow2;

/// <summary>
/// A qcow2 image (docs/interop/qcow2.txt), versions 2 and 3: guest clusters map through the L1 table and L2 tables to host
/// clusters; unallocated clusters read from the backing file (or as zeroes), zero clusters as zeroes, compressed clusters
/// are inflated. Writes allocate in the order that keeps the image consistent after a crash: the refcount (durable), then
/// the data, then the L2 entry (and for a new L2 table: the zeroed table, fdatasync, then its L1 entry). One lock serialises
/// every request; metadata is write-through, so evicting a cached table never writes.
/// </summary>
public sealed partial class QcowImage : IBlockBackend
{
    private const int L2CacheTables = 16;

    /// <summary>Freed clusters waiting for a flush before their refcounts drop; past this many, they are released early.</summary>
    private const int MaxPendingFree = 256;

    private readonly Lock gate = new();
    private readonly ImageFile file;
    private readonly QcowHeader header;
    private readonly IBlockBackend? backing;
    private readonly int clusterBits;
    private readonly ulong clusterSize;
    private readonly int l2Bits;
    private readonly ulong[] l1;
    private readonly MetadataCache l2Tables;
    private readonly RefcountTable? refcounts;

    /// <summary>Scratch for a partial write into a new cluster: its old content with the new bytes laid over it.</summary>
    private readonly byte[] clusterBuffer;
    private byte[]? compressedInput;
    private byte[]? inflated;
    private ulong inflatedEntry;
    private bool disposed;

    internal QcowImage(ImageFile file, QcowHeader header, IBlockBackend? backing)
    {
        this.file = file;
        this.header = header;
        this.backing = backing;
        clusterBits = header.ClusterBits;
        clusterSize = header.ClusterSize;
        l2Bits = clusterBits - 3;
        l2Tables = new MetadataCache(file, (int)clusterSize, L2CacheTables);
        clusterBuffer = new byte[clusterSize];

        var raw = new byte[header.L1Size * 8UL];
        file.Read(header.L1TableOffset, raw);
        l1 = new ulong[header.L1Size];
        ulong fileLength = file.Length;
        for (int i = 0; i < l1.Length; i++)
        {
            ulong entry = BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(i * 8));
            ulong table = entry & QcowEntry.OffsetMask;
            if (table != 0 && (table % clusterSize != 0 || table > fileLength - clusterSize))
            {
                throw new DiskImageException(
                    $"Disk image '{file.Path}' is corrupt: L1 entry {i} points at 0x{table:x}, outside the file; repair it with 'qemu-img check -r all'.");
            }

            l1[i] = entry;
        }

        if (!file.ReadOnly)
        {
            refcounts = new RefcountTable(file, header);

            // qcow2.txt: software that writes an image must clear the autoclear bits it does not maintain (bitmaps, raw external data).
            if (header.AutoclearFeatures != 0)
            {
                Span<byte> zero = stackalloc byte[8];
                zero.Clear();
                file.Write(QcowHeader.AutoclearFeaturesField, zero);
                file.Flush();
            }
        }
    }

    private enum ClusterKind
    {
        Unallocated,
        Zero,
        Data,
        Compressed,
    }

    public ulong Size => header.Size;

    public bool ReadOnly => file.ReadOnly;

    /// <summary>The backing file name as the header stores it (relative names are relative to this image's folder), or null.</summary>
    public string? BackingFile => header.BackingFile;

    public int ClusterSize => (int)clusterSize;

    public void Read(ulong offset, Span<byte> destination)
    {
        CheckRange(offset, (ulong)destination.Length);
        lock (gate)
        {
            CheckNotDisposed();
            while (destination.Length > 0)
            {
                ulong inCluster = offset & (clusterSize - 1);
                int length = (int)Math.Min((ulong)destination.Length, clusterSize - inCluster);
                ulong entry = L2Entry(offset >> clusterBits);
                switch (Classify(entry))
                {
                    case ClusterKind.Data:
                        ulong hostStart = DataOffset(entry) + inCluster;
                        length = ExtendRun(offset, hostStart, length, destination.Length, requireCopied: false);
                        file.Read(hostStart, destination[..length]);
                        break;
                    case ClusterKind.Zero:
                        destination[..length].Clear();
                        break;
                    case ClusterKind.Compressed:
                        Inflate(entry).AsSpan((int)inCluster, length).CopyTo(destination);
                        break;
                    default:
                        ReadBacking(offset, destination[..length]);
                        break;
                }

                destination = destination[length..];
                offset += (ulong)length;
            }
        }
    }

    public void Write(ulong offset, ReadOnlySpan<byte> source)
    {
        CheckWritable();
        CheckRange(offset, (ulong)source.Length);
        lock (gate)
        {
            CheckNotDisposed();
            WriteLocked(offset, source);
            ReleaseFreedClustersIfMany();
        }
    }

    /// <summary>fdatasync: data and metadata are durable; then clusters freed since the last flush get their refcounts back.</summary>
    public void Flush()
    {
        if (ReadOnly)
        {
            return;
        }

        lock (gate)
        {
            CheckNotDisposed();
            file.Flush();
            refcounts!.ReleasePending();
        }
    }

    /// <summary>Whole clusters are dropped (version 3 with a backing file: marked zero, so the backing data stays hidden); partial clusters are left as they are.</summary>
    public void Discard(ulong offset, ulong length)
    {
        CheckWritable();
        CheckRange(offset, length);
        lock (gate)
        {
            CheckNotDisposed();
            ZeroRange(offset, length, discard: true, mayUnmap: true);
        }
    }

    public void WriteZeroes(ulong offset, ulong length, bool mayUnmap)
    {
        CheckWritable();
        CheckRange(offset, length);
        lock (gate)
        {
            CheckNotDisposed();
            ZeroRange(offset, length, discard: false, mayUnmap);
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            if (disposed)
            {
                return;
            }

            disposed = true;
            try
            {
                if (refcounts != null)
                {
                    refcounts.ReleaseReservation();
                    file.Flush();
                    refcounts.ReleasePending();
                    file.Flush();
                }
            }
            finally
            {
                file.Dispose();
                backing?.Dispose();
            }
        }
    }

    private void WriteLocked(ulong offset, ReadOnlySpan<byte> source)
    {
        while (source.Length > 0)
        {
            ulong inCluster = offset & (clusterSize - 1);
            int length = (int)Math.Min((ulong)source.Length, clusterSize - inCluster);
            ulong guestCluster = offset >> clusterBits;
            ulong entry = L2Entry(guestCluster);
            if (Classify(entry) == ClusterKind.Data && (entry & QcowEntry.Copied) != 0)
            {
                ulong hostStart = DataOffset(entry) + inCluster;
                CheckNotHeader(hostStart);
                length = ExtendRun(offset, hostStart, length, source.Length, requireCopied: true);
                file.Write(hostStart, source[..length]);
            }
            else
            {
                WriteNewCluster(guestCluster, entry, (int)inCluster, source[..length]);
            }

            source = source[length..];
            offset += (ulong)length;
        }
    }

    /// <summary>
    /// Writes into a cluster that cannot be written in place (unallocated, zero, compressed or shared): a fresh host cluster
    /// gets the old content with the new bytes over it, then the L2 entry points at it, then the old cluster is freed.
    /// </summary>
    private void WriteNewCluster(ulong guestCluster, ulong entry, int inCluster, ReadOnlySpan<byte> piece)
    {
        var kind = Classify(entry);
        ReadOnlySpan<byte> content = piece;
        if ((ulong)piece.Length != clusterSize)
        {
            ReadClusterContent(guestCluster, entry, kind, clusterBuffer);
            piece.CopyTo(clusterBuffer.AsSpan(inCluster));
            content = clusterBuffer;
        }

        bool reuse = kind == ClusterKind.Zero && (entry & QcowEntry.OffsetMask) != 0 && (entry & QcowEntry.Copied) != 0;
        ulong l2Table = EnsureL2Table(guestCluster);
        ulong host = reuse ? DataOffset(entry) : refcounts!.Allocate();
        CheckNotHeader(host);
        file.Write(host, content);
        SetL2Entry(l2Table, guestCluster, host | QcowEntry.Copied);
        if (!reuse)
        {
            FreeClusterOf(entry, kind);
        }
    }

    private void ZeroRange(ulong offset, ulong length, bool discard, bool mayUnmap)
    {
        ulong end = offset + length;
        while (offset < end)
        {
            ulong inCluster = offset & (clusterSize - 1);
            ulong count = Math.Min(end - offset, clusterSize - inCluster);
            bool wholeCluster = inCluster == 0 && (count == clusterSize || offset + count == Size);
            if (wholeCluster)
            {
                ZeroCluster(offset >> clusterBits, discard, mayUnmap);
            }
            else if (!discard)
            {
                WriteLocked(offset, ZeroBuffer.Span[..(int)count]);
            }

            offset += count;
        }

        ReleaseFreedClustersIfMany();
    }

    private void ZeroCluster(ulong guestCluster, bool discard, bool mayUnmap)
    {
        ulong entry = L2Entry(guestCluster);
        var kind = Classify(entry);
        ulong replacement;
        if (header.Version >= 3)
        {
            bool keepAllocation = !discard && !mayUnmap && kind == ClusterKind.Data && (entry & QcowEntry.Copied) != 0;
            replacement = keepAllocation ? entry | QcowEntry.ReadsAsZero : backing != null ? QcowEntry.ReadsAsZero : 0;
        }
        else if (backing == null)
        {
            replacement = 0;
        }
        else
        {
            // Version 2 has no zero flag: only explicit zeroes hide the backing file.
            if (!discard)
            {
                WriteLocked(guestCluster << clusterBits, ZeroBuffer.Span[..(int)Math.Min(clusterSize, Size - (guestCluster << clusterBits))]);
            }

            return;
        }

        if (replacement == entry)
        {
            return;
        }

        ulong l2Table = replacement == 0 ? ExistingL2Table(guestCluster) : EnsureL2Table(guestCluster);
        if (l2Table == 0)
        {
            return;
        }

        SetL2Entry(l2Table, guestCluster, replacement);
        if ((replacement & QcowEntry.OffsetMask) == 0)
        {
            FreeClusterOf(entry, kind);
        }
    }

    /// <summary>Fills <paramref name="buffer"/> with what the guest reads in <paramref name="guestCluster"/> now.</summary>
    private void ReadClusterContent(ulong guestCluster, ulong entry, ClusterKind kind, Span<byte> buffer)
    {
        switch (kind)
        {
            case ClusterKind.Data:
                file.Read(DataOffset(entry), buffer);
                break;
            case ClusterKind.Zero:
                buffer.Clear();
                break;
            case ClusterKind.Compressed:
                Inflate(entry).CopyTo(buffer);
                break;
            default:
                ReadBacking(guestCluster << clusterBits, buffer);
                break;
        }
    }

    /// <summary>Drops this image's reference to the host cluster(s) behind <paramref name="entry"/>; the refcount falls at the next flush.</summary>
    private void FreeClusterOf(ulong entry, ClusterKind kind)
    {
        if (kind == ClusterKind.Compressed)
        {
            var (host, length) = CompressedExtent(entry);
            for (ulong cluster = host & ~(clusterSize - 1); cluster < host + length; cluster += clusterSize)
            {
                refcounts!.Free(cluster);
            }
        }
        else if ((entry & QcowEntry.OffsetMask) != 0)
        {
            refcounts!.Free(entry & QcowEntry.OffsetMask);
        }
    }

    private void ReleaseFreedClustersIfMany()
    {
        if (refcounts!.PendingFreeCount >= MaxPendingFree)
        {
            file.Flush();
            refcounts.ReleasePending();
        }
    }

    /// <summary>Grows a run of <paramref name="length"/> bytes over the following guest clusters while they sit right after it in the file.</summary>
    private int ExtendRun(ulong offset, ulong hostStart, int length, int available, bool requireCopied)
    {
        while (length < available)
        {
            ulong next = L2Entry((offset + (ulong)length) >> clusterBits);
            if (Classify(next) != ClusterKind.Data || (requireCopied && (next & QcowEntry.Copied) == 0)
                || DataOffset(next) != hostStart + (ulong)length)
            {
                break;
            }

            length += (int)Math.Min((ulong)(available - length), clusterSize);
        }

        return length;
    }

    private void ReadBacking(ulong offset, Span<byte> destination)
    {
        ulong backingSize = backing?.Size ?? 0;
        int fromBacking = offset >= backingSize ? 0 : (int)Math.Min((ulong)destination.Length, backingSize - offset);
        if (fromBacking > 0)
        {
            backing!.Read(offset, destination[..fromBacking]);
        }

        destination[fromBacking..].Clear();
    }

    private ClusterKind Classify(ulong entry)
    {
        if ((entry & QcowEntry.Compressed) != 0)
        {
            return ClusterKind.Compressed;
        }

        if (header.Version >= 3 && (entry & QcowEntry.ReadsAsZero) != 0)
        {
            return ClusterKind.Zero;
        }

        return (entry & QcowEntry.OffsetMask) != 0 ? ClusterKind.Data : ClusterKind.Unallocated;
    }

    private ulong DataOffset(ulong entry)
    {
        ulong host = entry & QcowEntry.OffsetMask;
        if ((host & (clusterSize - 1)) != 0)
        {
            ThrowCorrupt($"a data cluster offset 0x{host:x} that is not cluster-aligned");
        }

        return host;
    }

    /// <summary>The L2 entry of a guest cluster; 0 (unallocated) where no L2 table maps it.</summary>
    private ulong L2Entry(ulong guestCluster)
    {
        ulong table = ExistingL2Table(guestCluster);
        if (table == 0)
        {
            return 0;
        }

        int index = (int)(guestCluster & ((1UL << l2Bits) - 1));
        return BinaryPrimitives.ReadUInt64BigEndian(l2Tables.Get(table).AsSpan(index * 8));
    }

    private ulong ExistingL2Table(ulong guestCluster)
    {
        ulong index = guestCluster >> l2Bits;
        return index < (ulong)l1.Length ? l1[index] & QcowEntry.OffsetMask : 0;
    }

    /// <summary>The L2 table for a guest cluster, allocating a zeroed one (durable before its L1 entry is written) when there is none.</summary>
    private ulong EnsureL2Table(ulong guestCluster)
    {
        ulong index = guestCluster >> l2Bits;
        ulong entry = l1[index];
        ulong table = entry & QcowEntry.OffsetMask;
        if (table != 0)
        {
            if ((entry & QcowEntry.Copied) == 0)
            {
                ThrowCorrupt($"L1 entry {index} shares its L2 table (refcount above 1), which only internal snapshots do");
            }

            return table;
        }

        table = refcounts!.Allocate();
        file.Write(table, l2Tables.Create(table));
        file.Flush();
        l1[index] = table | QcowEntry.Copied;
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, l1[index]);
        file.Write(header.L1TableOffset + (index * 8), bytes);
        return table;
    }

    private void SetL2Entry(ulong table, ulong guestCluster, ulong value)
    {
        int index = (int)(guestCluster & ((1UL << l2Bits) - 1));
        byte[] entries = l2Tables.Get(table);
        BinaryPrimitives.WriteUInt64BigEndian(entries.AsSpan(index * 8), value);
        file.Write(table + ((ulong)index * 8), entries.AsSpan(index * 8, 8));
    }

    /// <summary>A compressed cluster descriptor (qcow2.txt "Compressed Clusters Descriptor"): offset in bits 0..x-1, x = 62 - (cluster_bits - 8), then the additional 512-byte sector count.</summary>
    private (ulong Host, ulong Length) CompressedExtent(ulong entry)
    {
        int sizeShift = 62 - (clusterBits - 8);
        ulong host = entry & ((1UL << sizeShift) - 1);
        ulong sectors = ((entry >> sizeShift) & ((1UL << (clusterBits - 8)) - 1)) + 1;
        return (host, (sectors * 512) - (host & 511));
    }

    /// <summary>The cluster a compressed descriptor holds: raw deflate (no zlib header), as QEMU writes it; the last one inflated is kept.</summary>
    private byte[] Inflate(ulong entry)
    {
        inflated ??= new byte[clusterSize];
        if (inflatedEntry == entry)
        {
            return inflated;
        }

        compressedInput ??= new byte[2 * clusterSize];
        var (host, length) = CompressedExtent(entry);
        int count = (int)Math.Min(length, (ulong)compressedInput.Length);
        file.Read(host, compressedInput.AsSpan(0, count));
        try
        {
            using var stream = new DeflateStream(new MemoryStream(compressedInput, 0, count, writable: false), CompressionMode.Decompress);
            int total = 0;
            int read;
            while (total < inflated.Length && (read = stream.Read(inflated, total, inflated.Length - total)) > 0)
            {
                total += read;
            }

            inflated.AsSpan(total).Clear();
        }
        catch (InvalidDataException exception)
        {
            inflatedEntry = 0;
            throw new IOException($"'{file.Path}': the compressed cluster at 0x{host:x} does not inflate ({exception.Message}).", exception);
        }

        inflatedEntry = entry;
        return inflated;
    }

    /// <summary>A corrupt L2 entry pointing at cluster 0 would let guest data overwrite the header; QEMU marks such images corrupt too.</summary>
    private void CheckNotHeader(ulong host)
    {
        if (host < clusterSize)
        {
            ThrowCorrupt("a data cluster maps onto the header (cluster 0)");
        }
    }

    private void CheckRange(ulong offset, ulong length)
    {
        if (offset > Size || length > Size - offset)
        {
            ThrowOutOfRange(offset, length);
        }
    }

    private void CheckWritable()
    {
        if (ReadOnly)
        {
            ThrowReadOnly();
        }
    }

    private void CheckNotDisposed()
    {
        if (disposed)
        {
            ThrowDisposed();
        }
    }

    private void ThrowOutOfRange(ulong offset, ulong length) =>
        throw new ArgumentOutOfRangeException(nameof(offset), $"Access at {offset} of {length} bytes is past the end of '{file.Path}' ({Size} bytes).");

    private void ThrowReadOnly() => throw new InvalidOperationException($"'{file.Path}' is open read-only.");

    private void ThrowDisposed() => throw new ObjectDisposedException(file.Path);

    private void ThrowCorrupt(string fault) =>
        throw new IOException($"'{file.Path}' is corrupt: {fault}; repair it with 'qemu-img check -r all'.");
}

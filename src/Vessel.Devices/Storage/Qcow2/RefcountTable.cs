using System.Buffers.Binary;

namespace Vessel.Devices.Storage.Qcow2;

/// <summary>
/// Host cluster management of a writable qcow2 image (docs/interop/qcow2.txt, "Host cluster management"): the refcount table,
/// its refcount blocks, and allocation. Crash ordering: a cluster's refcount is written and fdatasync'd before anything refers
/// to it (clusters are reserved in batches so that costs one fdatasync per batch), and a freed cluster's refcount drops only
/// after the write that stopped referring to it is durable. A crash at any point can therefore leak clusters (refcount above
/// the references) but never leave a referenced cluster with a refcount of zero, which is what <c>qemu-img check</c> calls an error.
/// </summary>
internal sealed class RefcountTable
{
    private const int ReservationBatch = 64;

    private readonly ImageFile file;
    private readonly int clusterBits;
    private readonly ulong clusterSize;
    private readonly int refcountOrder;

    /// <summary>log2 of the refcount entries in one block.</summary>
    private readonly int blockBits;
    private readonly MetadataCache blocks;
    private readonly List<ulong> pendingFree = [];
    private ulong tableOffset;
    private ulong[] table;
    private ulong searchHint;
    private ulong reservedNext;
    private ulong reservedEnd;

    public RefcountTable(ImageFile file, QcowHeader header)
    {
        this.file = file;
        clusterBits = header.ClusterBits;
        clusterSize = header.ClusterSize;
        refcountOrder = header.RefcountOrder;
        blockBits = clusterBits + 3 - refcountOrder;
        blocks = new MetadataCache(file, (int)clusterSize, 4);
        tableOffset = header.RefcountTableOffset;
        var raw = new byte[header.RefcountTableClusters * clusterSize];
        file.Read(tableOffset, raw);
        table = new ulong[raw.Length / 8];
        ulong fileLength = file.Length;
        for (int i = 0; i < table.Length; i++)
        {
            ulong entry = BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(i * 8)) & QcowEntry.RefcountBlockOffsetMask;
            if (entry != 0 && (entry % clusterSize != 0 || entry > fileLength - clusterSize))
            {
                throw new DiskImageException(
                    $"Disk image '{file.Path}' is corrupt: refcount block {i} at 0x{entry:x} lies outside the file; repair it with 'qemu-img check -r all'.");
            }

            table[i] = entry;
        }
    }

    /// <summary>Clusters freed but not yet given back (waiting for the next flush).</summary>
    public int PendingFreeCount => pendingFree.Count;

    /// <summary>A host cluster whose refcount of 1 is already durable and that nothing refers to yet.</summary>
    public ulong Allocate()
    {
        if (reservedNext == reservedEnd)
        {
            Reserve();
        }

        return reservedNext++ << clusterBits;
    }

    /// <summary>The cluster at <paramref name="hostOffset"/> lost one reference; its refcount drops at <see cref="ReleasePending"/>.</summary>
    public void Free(ulong hostOffset) => pendingFree.Add(hostOffset >> clusterBits);

    /// <summary>
    /// Drops the refcounts of freed clusters. The caller has made the writes that removed their references durable. The
    /// unused reservation goes back too, so the next allocation starts at the lowest free cluster and the file stops growing.
    /// </summary>
    public void ReleasePending()
    {
        if (pendingFree.Count == 0)
        {
            return;
        }

        ReleaseReservation();
        foreach (ulong cluster in pendingFree)
        {
            ulong count = RefcountOf(cluster);
            if (count != 0)
            {
                SetRefcount(cluster, count - 1);
                if (count == 1)
                {
                    searchHint = Math.Min(searchHint, cluster);
                }
            }
        }

        pendingFree.Clear();
    }

    /// <summary>Gives back the reserved clusters nobody used, so a cleanly closed image leaks nothing.</summary>
    public void ReleaseReservation()
    {
        for (ulong cluster = reservedNext; cluster < reservedEnd; cluster++)
        {
            SetRefcount(cluster, 0);
            searchHint = Math.Min(searchHint, cluster);
        }

        reservedNext = reservedEnd;
    }

    public ulong RefcountOf(ulong cluster)
    {
        ulong index = cluster >> blockBits;
        if (index >= (ulong)table.Length || table[index] == 0)
        {
            return 0;
        }

        return ReadEntry(blocks.Get(table[index]), cluster & ((1UL << blockBits) - 1));
    }

    private void Reserve()
    {
        while (true)
        {
            ulong cluster = searchHint;
            while (RefcountOf(cluster) != 0)
            {
                cluster++;
            }

            searchHint = cluster;
            ulong index = cluster >> blockBits;
            if (index >= (ulong)table.Length)
            {
                Grow(cluster);
                continue;
            }

            if (table[index] == 0)
            {
                CreateBlockAt(cluster, index);
                continue;
            }

            // A run of free clusters inside one refcount block: one write and one fdatasync reserve them all.
            ulong count = 1;
            while (count < ReservationBatch && ((cluster + count) >> blockBits) == index && RefcountOf(cluster + count) == 0)
            {
                count++;
            }

            byte[] block = blocks.Get(table[index]);
            ulong first = cluster & ((1UL << blockBits) - 1);
            for (ulong i = 0; i < count; i++)
            {
                WriteEntry(block, first + i, 1);
            }

            WriteBlockBytes(table[index], block, first, count);
            file.Flush();
            reservedNext = cluster;
            reservedEnd = cluster + count;
            searchHint = reservedEnd;
            return;
        }
    }

    /// <summary>No block covers <paramref name="cluster"/>'s range, so every cluster there is free: the first one becomes the block and counts itself.</summary>
    private void CreateBlockAt(ulong cluster, ulong index)
    {
        ulong offset = cluster << clusterBits;
        byte[] block = blocks.Create(offset);
        WriteEntry(block, cluster & ((1UL << blockBits) - 1), 1);
        file.Write(offset, block);
        file.Flush();
        table[index] = offset;
        WriteTableEntry(tableOffset, index, offset);
    }

    /// <summary>
    /// The refcount table is full: writes a larger copy at the end of the file, with new refcount blocks right after it
    /// that count the new table and themselves, makes both durable, then points the header at the copy (one 12-byte write)
    /// and frees the old table. A crash before the header write leaves the old table in force and the new clusters leaked.
    /// </summary>
    private void Grow(ulong firstFree)
    {
        ulong fileClusters = (file.Length + clusterSize - 1) >> clusterBits;
        ulong start = Math.Max(fileClusters, firstFree);
        ulong entries = Math.Max((ulong)table.Length * 2, (firstFree >> blockBits) + 1);
        ulong tableClusters;
        ulong end;
        while (true)
        {
            tableClusters = ((entries * 8) + clusterSize - 1) >> clusterBits;
            ulong newBlocks = 0;
            while (true)
            {
                end = start + tableClusters + newBlocks;
                ulong missing = 0;
                for (ulong index = start >> blockBits; index <= (end - 1) >> blockBits; index++)
                {
                    if (index >= (ulong)table.Length || table[index] == 0)
                    {
                        missing++;
                    }
                }

                if (missing == newBlocks)
                {
                    break;
                }

                newBlocks = missing;
            }

            if (((end - 1) >> blockBits) < entries)
            {
                break;
            }

            entries = ((end - 1) >> blockBits) + 1;
        }

        if (tableClusters * clusterSize > QcowHeader.MaxRefcountTableBytes)
        {
            throw new IOException($"'{file.Path}' would need a refcount table above {QcowHeader.MaxRefcountTableBytes} bytes; the image cannot grow further.");
        }

        var newTable = new ulong[(tableClusters * clusterSize) / 8];
        Array.Copy(table, newTable, table.Length);
        var newBlockContents = new Dictionary<ulong, byte[]>();
        ulong nextBlock = start + tableClusters;
        for (ulong index = start >> blockBits; index <= (end - 1) >> blockBits; index++)
        {
            if (index >= (ulong)table.Length || table[index] == 0)
            {
                newTable[index] = nextBlock++ << clusterBits;
                newBlockContents[index] = new byte[clusterSize];
            }
        }

        for (ulong cluster = start; cluster < end; cluster++)
        {
            ulong index = cluster >> blockBits;
            ulong entry = cluster & ((1UL << blockBits) - 1);
            if (newBlockContents.TryGetValue(index, out byte[]? fresh))
            {
                WriteEntry(fresh, entry, 1);
            }
            else
            {
                byte[] block = blocks.Get(newTable[index]);
                WriteEntry(block, entry, 1);
                WriteBlockBytes(newTable[index], block, entry, 1);
            }
        }

        foreach (var (index, content) in newBlockContents)
        {
            file.Write(newTable[index], content);
            blocks.Forget(newTable[index]);
        }

        var bytes = new byte[tableClusters * clusterSize];
        for (int i = 0; i < newTable.Length; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(i * 8), newTable[i]);
        }

        ulong newOffset = start << clusterBits;
        file.Write(newOffset, bytes);
        file.Flush();

        Span<byte> field = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64BigEndian(field, newOffset);
        BinaryPrimitives.WriteUInt32BigEndian(field[8..], (uint)tableClusters);
        file.Write(QcowHeader.RefcountTableOffsetField, field);
        file.Flush();

        ulong oldFirst = tableOffset >> clusterBits;
        ulong oldClusters = ((ulong)table.Length * 8) >> clusterBits;
        table = newTable;
        tableOffset = newOffset;
        for (ulong cluster = oldFirst; cluster < oldFirst + oldClusters; cluster++)
        {
            SetRefcount(cluster, 0);
            searchHint = Math.Min(searchHint, cluster);
        }
    }

    private void SetRefcount(ulong cluster, ulong count)
    {
        ulong index = cluster >> blockBits;
        if (index >= (ulong)table.Length || table[index] == 0)
        {
            return;
        }

        byte[] block = blocks.Get(table[index]);
        ulong entry = cluster & ((1UL << blockBits) - 1);
        WriteEntry(block, entry, count);
        WriteBlockBytes(table[index], block, entry, 1);
    }

    /// <summary>Writes the bytes of a block that hold entries [first, first+count) (whole bytes for sub-byte refcounts).</summary>
    private void WriteBlockBytes(ulong blockOffset, byte[] block, ulong first, ulong count)
    {
        int bits = 1 << refcountOrder;
        ulong startByte = (first * (ulong)bits) / 8;
        ulong endByte = (((first + count) * (ulong)bits) + 7) / 8;
        file.Write(blockOffset + startByte, block.AsSpan((int)startByte, (int)(endByte - startByte)));
    }

    private void WriteTableEntry(ulong offset, ulong index, ulong value)
    {
        Span<byte> entry = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(entry, value);
        file.Write(offset + (index * 8), entry);
    }

    /// <summary>Refcount entry <paramref name="index"/> of a block: big-endian for 8-64 bits; below 8 bits, packed from the byte's low bits up (QEMU's get_refcount_ro0-2).</summary>
    private ulong ReadEntry(byte[] block, ulong index) => refcountOrder switch
    {
        < 3 => (ulong)(block[(index << refcountOrder) / 8] >> (int)((index << refcountOrder) % 8)) & ((1UL << (1 << refcountOrder)) - 1),
        3 => block[index],
        4 => BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan((int)index * 2)),
        5 => BinaryPrimitives.ReadUInt32BigEndian(block.AsSpan((int)index * 4)),
        _ => BinaryPrimitives.ReadUInt64BigEndian(block.AsSpan((int)index * 8)),
    };

    private void WriteEntry(byte[] block, ulong index, ulong value)
    {
        switch (refcountOrder)
        {
            case < 3:
                int bits = 1 << refcountOrder;
                int bitIndex = (int)(index << refcountOrder);
                int mask = ((1 << bits) - 1) << (bitIndex % 8);
                block[bitIndex / 8] = (byte)((block[bitIndex / 8] & ~mask) | (((int)value << (bitIndex % 8)) & mask));
                break;
            case 3:
                block[index] = (byte)value;
                break;
            case 4:
                BinaryPrimitives.WriteUInt16BigEndian(block.AsSpan((int)index * 2), (ushort)value);
                break;
            case 5:
                BinaryPrimitives.WriteUInt32BigEndian(block.AsSpan((int)index * 4), (uint)value);
                break;
            default:
                BinaryPrimitives.WriteUInt64BigEndian(block.AsSpan((int)index * 8), value);
                break;
        }
    }
}

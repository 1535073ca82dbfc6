namespace Vessel.Devices.Storage.Qcow2;

/// <summary>
/// A few cluster-sized metadata tables (L2 tables or refcount blocks) kept in memory, least recently used out. Write-through:
/// callers update a cached table and write the changed bytes to the file at once, so evicting never writes and the
/// file's order of metadata updates is the program's order.
/// </summary>
internal sealed class MetadataCache
{
    private const ulong Empty = ulong.MaxValue;

    private readonly ImageFile file;
    private readonly ulong[] offsets;
    private readonly byte[][] tables;
    private readonly long[] lastUse;
    private long clock;

    public MetadataCache(ImageFile file, int clusterSize, int capacity)
    {
        this.file = file;
        offsets = new ulong[capacity];
        Array.Fill(offsets, Empty);
        tables = new byte[capacity][];
        for (int i = 0; i < capacity; i++)
        {
            tables[i] = new byte[clusterSize];
        }

        lastUse = new long[capacity];
    }

    /// <summary>The table at host <paramref name="offset"/>, read from the file on a miss.</summary>
    public byte[] Get(ulong offset)
    {
        int slot = Find(offset);
        if (slot < 0)
        {
            slot = Victim();
            offsets[slot] = Empty;
            file.Read(offset, tables[slot]);
            offsets[slot] = offset;
        }

        lastUse[slot] = ++clock;
        return tables[slot];
    }

    /// <summary>The table for a newly allocated cluster at <paramref name="offset"/>, all zeroes (the caller writes it).</summary>
    public byte[] Create(ulong offset)
    {
        int slot = Find(offset);
        if (slot < 0)
        {
            slot = Victim();
        }

        Array.Clear(tables[slot]);
        offsets[slot] = offset;
        lastUse[slot] = ++clock;
        return tables[slot];
    }

    /// <summary>Forgets the table at <paramref name="offset"/> (its cluster was freed and may hold data next).</summary>
    public void Forget(ulong offset)
    {
        int slot = Find(offset);
        if (slot >= 0)
        {
            offsets[slot] = Empty;
        }
    }

    private int Find(ulong offset)
    {
        for (int i = 0; i < offsets.Length; i++)
        {
            if (offsets[i] == offset)
            {
                return i;
            }
        }

        return -1;
    }

    private int Victim()
    {
        int victim = 0;
        for (int i = 1; i < offsets.Length; i++)
        {
            if (lastUse[i] < lastUse[victim])
            {
                victim = i;
            }
        }

        return victim;
    }
}

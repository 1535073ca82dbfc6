namespace Vessel.Devices.Storage.Qcow2;

/// <summary>Bits of L1, L2 and refcount table entries (docs/interop/qcow2.txt, "Cluster mapping" and "Host cluster management").</summary>
internal static class QcowEntry
{
    /// <summary>Bit 63 of L1 and standard L2 entries: the cluster's refcount is exactly 1, so it may be written in place.</summary>
    public const ulong Copied = 1UL << 63;

    /// <summary>Bit 62 of an L2 entry: a compressed cluster, whose descriptor packs an offset and a sector count.</summary>
    public const ulong Compressed = 1UL << 62;

    /// <summary>Bit 0 of a standard L2 entry (version 3): the cluster reads as zeroes, whatever it points to.</summary>
    public const ulong ReadsAsZero = 1UL << 0;

    /// <summary>Bits 9-55: the host offset of an L2 table (in an L1 entry) or of a data cluster (in a standard L2 entry).</summary>
    public const ulong OffsetMask = 0x00FF_FFFF_FFFF_FE00UL;

    /// <summary>Bits 9-63 of a refcount table entry: the refcount block's offset.</summary>
    public const ulong RefcountBlockOffsetMask = 0xFFFF_FFFF_FFFF_FE00UL;
}

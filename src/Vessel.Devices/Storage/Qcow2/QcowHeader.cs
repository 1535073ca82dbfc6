using System.Buffers.Binary;
using System.Text;

namespace Vessel.Devices.Storage.Qcow2;

/// <summary>
/// The qcow2 header (docs/interop/qcow2.txt, big-endian) with its extensions and backing file name, read once and validated
/// completely before an image is used: everything the code later trusts (table offsets, sizes, feature bits) is checked here.
/// </summary>
internal sealed class QcowHeader
{
    public const uint Magic = 0x514649FB;
    public const int Version2Length = 72;
    public const int Version3Length = 104;

    /// <summary>Offset of refcount_table_offset (u64) followed by refcount_table_clusters (u32): rewritten together when the table moves.</summary>
    public const int RefcountTableOffsetField = 48;
    public const int AutoclearFeaturesField = 88;

    public const int MinClusterBits = 9;
    public const int MaxClusterBits = 21;

    /// <summary>QEMU's limits (block/qcow2.h QCOW_MAX_L1_SIZE, QCOW_MAX_REFTABLE_SIZE): 32 MiB of L1 and 8 MiB of refcount table.</summary>
    public const ulong MaxL1Bytes = 32 << 20;
    public const ulong MaxRefcountTableBytes = 8 << 20;
    public const int MaxBackingFileNameLength = 1023;

    public const uint BackingFormatExtension = 0xE2792ACA;
    public const uint FullDiskEncryptionExtension = 0x0537BE77;

    public uint Version { get; private init; }
    public int ClusterBits { get; private init; }
    public ulong Size { get; private init; }
    public uint L1Size { get; private init; }
    public ulong L1TableOffset { get; private init; }
    public ulong RefcountTableOffset { get; private init; }
    public uint RefcountTableClusters { get; private init; }
    public uint SnapshotCount { get; private init; }
    public IncompatibleFeatures Incompatible { get; private init; }
    public ulong AutoclearFeatures { get; private init; }
    public int RefcountOrder { get; private init; }
    public string? BackingFile { get; private init; }
    public string? BackingFormat { get; private init; }

    public ulong ClusterSize => 1UL << ClusterBits;

    public static bool HasMagic(ReadOnlySpan<byte> start) => start.Length >= 4 && BinaryPrimitives.ReadUInt32BigEndian(start) == Magic;

    /// <summary>Reads and validates the header of <paramref name="file"/>; throws <see cref="DiskImageException"/> naming the file and the fault.</summary>
    public static QcowHeader Read(ImageFile file, bool readOnly)
    {
        string path = file.Path;
        ulong fileLength = file.Length;
        if (fileLength < Version2Length)
        {
            throw Corrupt(path, $"it is {fileLength} bytes long, too short for a qcow2 header");
        }

        Span<byte> fixedPart = stackalloc byte[Version3Length + 8];
        fixedPart.Clear();
        file.Read(0, fixedPart[..(int)Math.Min((ulong)fixedPart.Length, fileLength)]);
        if (!HasMagic(fixedPart))
        {
            throw new DiskImageException(
                $"Disk image '{path}' is not a qcow2 image (it does not start with the qcow2 magic 'QFI\\xfb'); open it with format=raw or check the path.");
        }

        uint version = BinaryPrimitives.ReadUInt32BigEndian(fixedPart[4..]);
        if (version is not (2 or 3))
        {
            throw Unsupported(path, $"qcow2 version {version} (Vessel reads versions 2 and 3)");
        }

        ulong backingFileOffset = BinaryPrimitives.ReadUInt64BigEndian(fixedPart[8..]);
        uint backingFileSize = BinaryPrimitives.ReadUInt32BigEndian(fixedPart[16..]);
        uint clusterBits = BinaryPrimitives.ReadUInt32BigEndian(fixedPart[20..]);
        ulong size = BinaryPrimitives.ReadUInt64BigEndian(fixedPart[24..]);
        uint cryptMethod = BinaryPrimitives.ReadUInt32BigEndian(fixedPart[32..]);
        uint l1Size = BinaryPrimitives.ReadUInt32BigEndian(fixedPart[36..]);
        ulong l1TableOffset = BinaryPrimitives.ReadUInt64BigEndian(fixedPart[40..]);
        ulong refcountTableOffset = BinaryPrimitives.ReadUInt64BigEndian(fixedPart[48..]);
        uint refcountTableClusters = BinaryPrimitives.ReadUInt32BigEndian(fixedPart[56..]);
        uint snapshotCount = BinaryPrimitives.ReadUInt32BigEndian(fixedPart[60..]);

        var incompatible = IncompatibleFeatures.None;
        ulong autoclear = 0;
        uint refcountOrder = 4;
        uint headerLength = Version2Length;
        byte compressionType = 0;
        if (version == 3)
        {
            incompatible = (IncompatibleFeatures)BinaryPrimitives.ReadUInt64BigEndian(fixedPart[72..]);
            autoclear = BinaryPrimitives.ReadUInt64BigEndian(fixedPart[88..]);
            refcountOrder = BinaryPrimitives.ReadUInt32BigEndian(fixedPart[96..]);
            headerLength = BinaryPrimitives.ReadUInt32BigEndian(fixedPart[100..]);
            if (headerLength > Version3Length)
            {
                compressionType = fixedPart[104];
            }
        }

        if (clusterBits is < MinClusterBits or > MaxClusterBits)
        {
            throw Corrupt(path, $"its cluster_bits is {clusterBits}, outside {MinClusterBits}-{MaxClusterBits}");
        }

        ulong clusterSize = 1UL << (int)clusterBits;
        if (version == 3 && (headerLength < Version3Length || headerLength % 8 != 0 || headerLength > clusterSize))
        {
            throw Corrupt(path, $"its header_length {headerLength} is invalid");
        }

        if (refcountOrder > 6)
        {
            throw Corrupt(path, $"its refcount_order {refcountOrder} is above 6");
        }

        if (cryptMethod != 0)
        {
            throw Unsupported(path, "encryption (Vessel opens only unencrypted images)");
        }

        var unknown = incompatible & ~IncompatibleFeatures.Known;
        if (unknown != 0)
        {
            throw Unsupported(path, $"unknown incompatible feature bits 0x{(ulong)unknown:x}");
        }

        if ((incompatible & IncompatibleFeatures.ExternalDataFile) != 0)
        {
            throw Unsupported(path, "an external data file");
        }

        if ((incompatible & IncompatibleFeatures.ExtendedL2Entries) != 0)
        {
            throw Unsupported(path, "extended L2 entries (subclusters)");
        }

        if ((incompatible & IncompatibleFeatures.CompressionType) != 0 && compressionType != 0)
        {
            throw Unsupported(path, compressionType == 1 ? "zstd compression" : $"compression type {compressionType}");
        }

        if (!readOnly && (incompatible & IncompatibleFeatures.Dirty) != 0)
        {
            throw new DiskImageException(
                $"Disk image '{path}' was not closed cleanly (its dirty bit is set, so its refcounts are stale); repair it with 'qemu-img check -r all' or open it with readonly=on.");
        }

        if (!readOnly && (incompatible & IncompatibleFeatures.Corrupt) != 0)
        {
            throw new DiskImageException(
                $"Disk image '{path}' is marked corrupt by QEMU; repair it with 'qemu-img check -r all' or open it with readonly=on.");
        }

        if (!readOnly && snapshotCount != 0)
        {
            throw new DiskImageException(
                $"Disk image '{path}' has {snapshotCount} internal snapshot(s), which Vessel can only read; open it with readonly=on or remove them with 'qemu-img snapshot -d'.");
        }

        // The guest's clusters need this many L1 entries (each maps clusterSize/8 clusters); a short L1 would map past its end.
        int l2Bits = (int)clusterBits - 3;
        ulong bytesPerL1Entry = clusterSize << l2Bits;
        ulong neededL1 = (size / bytesPerL1Entry) + (size % bytesPerL1Entry != 0 ? 1UL : 0);
        if ((ulong)l1Size * 8 > MaxL1Bytes || l1Size < neededL1)
        {
            throw Corrupt(path, $"its L1 table ({l1Size} entries) does not fit its size of {size} bytes");
        }

        CheckTable(path, "L1 table", l1TableOffset, (ulong)l1Size * 8, clusterSize, fileLength, l1Size != 0);
        ulong refcountTableBytes = (ulong)refcountTableClusters * clusterSize;
        if (refcountTableClusters == 0 || refcountTableBytes > MaxRefcountTableBytes)
        {
            throw Corrupt(path, $"its refcount table of {refcountTableClusters} clusters is invalid");
        }

        CheckTable(path, "refcount table", refcountTableOffset, refcountTableBytes, clusterSize, fileLength, true);

        var firstCluster = new byte[(int)Math.Min(clusterSize, fileLength)];
        file.Read(0, firstCluster);
        string? backingFormat = ReadExtensions(path, firstCluster, version == 3 ? headerLength : Version2Length);

        string? backingFile = null;
        if (backingFileOffset != 0)
        {
            if (backingFileSize == 0 || backingFileSize > MaxBackingFileNameLength || backingFileOffset > (ulong)firstCluster.Length
                || backingFileSize > (ulong)firstCluster.Length - backingFileOffset)
            {
                throw Corrupt(path, "its backing file name lies outside the first cluster or is too long");
            }

            backingFile = Encoding.UTF8.GetString(firstCluster, (int)backingFileOffset, (int)backingFileSize);
        }

        return new QcowHeader
        {
            Version = version,
            ClusterBits = (int)clusterBits,
            Size = size,
            L1Size = l1Size,
            L1TableOffset = l1TableOffset,
            RefcountTableOffset = refcountTableOffset,
            RefcountTableClusters = refcountTableClusters,
            SnapshotCount = snapshotCount,
            Incompatible = incompatible,
            AutoclearFeatures = autoclear,
            RefcountOrder = (int)refcountOrder,
            BackingFile = backingFile,
            BackingFormat = backingFormat,
        };
    }

    /// <summary>Walks the header extensions (type, length, data padded to 8 bytes) up to the end marker; returns the backing format.</summary>
    private static string? ReadExtensions(string path, byte[] firstCluster, uint start)
    {
        string? backingFormat = null;
        ulong offset = start;
        while (offset + 8 <= (ulong)firstCluster.Length)
        {
            uint type = BinaryPrimitives.ReadUInt32BigEndian(firstCluster.AsSpan((int)offset));
            uint length = BinaryPrimitives.ReadUInt32BigEndian(firstCluster.AsSpan((int)offset + 4));
            if (type == 0)
            {
                return backingFormat;
            }

            ulong dataStart = offset + 8;
            if (length > (ulong)firstCluster.Length - dataStart)
            {
                throw Corrupt(path, $"its header extension 0x{type:x8} runs past the first cluster");
            }

            if (type == BackingFormatExtension)
            {
                backingFormat = Encoding.ASCII.GetString(firstCluster, (int)dataStart, (int)length).TrimEnd('\0');
            }
            else if (type == FullDiskEncryptionExtension)
            {
                throw Unsupported(path, "encryption (Vessel opens only unencrypted images)");
            }

            offset = dataStart + ((length + 7UL) & ~7UL);
        }

        return backingFormat;
    }

    private static void CheckTable(string path, string name, ulong offset, ulong length, ulong clusterSize, ulong fileLength, bool present)
    {
        if (!present)
        {
            return;
        }

        if (offset == 0 || offset % clusterSize != 0)
        {
            throw Corrupt(path, $"its {name} offset 0x{offset:x} is not a non-zero multiple of the cluster size");
        }

        if (offset > fileLength || length > fileLength - offset)
        {
            throw Corrupt(path, $"its {name} (0x{offset:x}, {length} bytes) lies beyond the end of the file ({fileLength} bytes)");
        }
    }

    private static DiskImageException Corrupt(string path, string fault) =>
        new($"Disk image '{path}' has a corrupt qcow2 header: {fault}; repair it with 'qemu-img check -r all' or restore it from a backup.");

    private static DiskImageException Unsupported(string path, string feature) =>
        new($"Disk image '{path}' uses {feature}, which Vessel does not support; convert it with 'qemu-img convert -O qcow2'.");
}

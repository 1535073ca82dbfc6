using System.Buffers.Binary;
using System.Text;

namespace Vessel.Devices.Storage.Qcow2;

public sealed partial class QcowImage
{
    /// <summary>Cluster size of the images Vessel creates: 64 KiB, QEMU's default.</summary>
    public const int DefaultClusterBits = 16;

    /// <summary>Largest virtual size <see cref="Create"/> accepts (64 TiB); virtio-blk itself is used up to 2 TiB.</summary>
    public const ulong MaxCreateSize = 64UL << 40;

    private const int CreatedHeaderLength = 112;

    /// <summary>
    /// Creates a qcow2 version 3 image (64 KiB clusters, 16-bit refcounts, QEMU's defaults) of <paramref name="size"/> bytes,
    /// rounded up to a multiple of 512; with a backing file, a size of 0 means the backing file's size. The backing file name
    /// is stored as given (a relative name is relative to the new image's folder) and must open. Refuses to replace a file.
    /// </summary>
    /// <exception cref="DiskImageException">The file exists, its folder is not writable, the size is out of range, or the backing file does not open.</exception>
    public static void Create(string path, ulong size, string? backingPath = null, DiskImageFormat? backingFormat = null)
    {
        if (backingPath != null)
        {
            string resolved = Path.IsPathRooted(backingPath)
                ? backingPath
                : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path)) ?? "/", backingPath);
            using var backing = DiskImage.Open(resolved, backingFormat, readOnly: true, "Backing file");
            if (size == 0)
            {
                size = backing.Size;
            }

            backingFormat ??= backing is QcowImage ? DiskImageFormat.Qcow2 : DiskImageFormat.Raw;
            if (Encoding.UTF8.GetByteCount(backingPath) > QcowHeader.MaxBackingFileNameLength)
            {
                throw new DiskImageException($"The backing file name '{backingPath}' is longer than {QcowHeader.MaxBackingFileNameLength} bytes; use a shorter path.");
            }
        }

        size = (size + 511) & ~511UL;
        if (size == 0 || size > MaxCreateSize)
        {
            throw new DiskImageException($"Cannot create '{path}' with a size of {size} bytes; give a size between 512 bytes and 64 TiB.");
        }

        byte[] metadata = Layout(size, backingPath, backingFormat);
        using var file = ImageFile.CreateNew(path);
        try
        {
            file.Write(0, metadata);
            file.Flush();
        }
        catch (IOException exception)
        {
            File.Delete(path);
            throw new DiskImageException($"Cannot write '{path}': {exception.Message}; check the free space of its file system.", exception);
        }
    }

    /// <summary>
    /// The whole new image: cluster 0 the header, its extensions and the backing file name; cluster 1 the refcount table;
    /// cluster 2 the refcount block counting clusters 0 to 3+n; then the n clusters of an empty L1 table.
    /// </summary>
    private static byte[] Layout(ulong size, string? backingPath, DiskImageFormat? backingFormat)
    {
        const int clusterBits = DefaultClusterBits;
        const ulong clusterSize = 1UL << clusterBits;
        ulong bytesPerL1Entry = clusterSize << (clusterBits - 3);
        ulong l1Entries = (size + bytesPerL1Entry - 1) / bytesPerL1Entry;
        ulong l1Clusters = Math.Max(1, ((l1Entries * 8) + clusterSize - 1) / clusterSize);
        ulong totalClusters = 3 + l1Clusters;
        var image = new byte[totalClusters * clusterSize];
        Span<byte> header = image;

        BinaryPrimitives.WriteUInt32BigEndian(header[0..], QcowHeader.Magic);
        BinaryPrimitives.WriteUInt32BigEndian(header[4..], 3);
        BinaryPrimitives.WriteUInt32BigEndian(header[20..], clusterBits);
        BinaryPrimitives.WriteUInt64BigEndian(header[24..], size);
        BinaryPrimitives.WriteUInt32BigEndian(header[36..], (uint)l1Entries);
        BinaryPrimitives.WriteUInt64BigEndian(header[40..], 3 * clusterSize);
        BinaryPrimitives.WriteUInt64BigEndian(header[48..], clusterSize);
        BinaryPrimitives.WriteUInt32BigEndian(header[56..], 1);
        BinaryPrimitives.WriteUInt32BigEndian(header[96..], 4);
        BinaryPrimitives.WriteUInt32BigEndian(header[100..], CreatedHeaderLength);

        int offset = CreatedHeaderLength;
        if (backingPath != null)
        {
            byte[] formatName = Encoding.ASCII.GetBytes(backingFormat == DiskImageFormat.Qcow2 ? "qcow2" : "raw");
            BinaryPrimitives.WriteUInt32BigEndian(header[offset..], QcowHeader.BackingFormatExtension);
            BinaryPrimitives.WriteUInt32BigEndian(header[(offset + 4)..], (uint)formatName.Length);
            formatName.CopyTo(header[(offset + 8)..]);
            offset += 8 + ((formatName.Length + 7) & ~7);
        }

        offset += 8;
        if (backingPath != null)
        {
            byte[] name = Encoding.UTF8.GetBytes(backingPath);
            BinaryPrimitives.WriteUInt64BigEndian(header[8..], (ulong)offset);
            BinaryPrimitives.WriteUInt32BigEndian(header[16..], (uint)name.Length);
            name.CopyTo(header[offset..]);
        }

        BinaryPrimitives.WriteUInt64BigEndian(header[(int)clusterSize..], 2 * clusterSize);
        for (ulong cluster = 0; cluster < totalClusters; cluster++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(header[(int)((2 * clusterSize) + (cluster * 2))..], 1);
        }

        return image;
    }
}

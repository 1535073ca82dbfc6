namespace Vessel.Devices.Storage;

/// <summary>
/// A disk image as a block device sees it: a byte-addressed store of <see cref="Size"/> bytes. virtio-blk calls it from the
/// machine's I/O thread; implementations are safe to call from several threads at once (they serialise where they must).
/// Offsets and lengths are checked by the caller against <see cref="Size"/>; an implementation still refuses an access
/// past the end with <see cref="ArgumentOutOfRangeException"/> rather than touching another file's bytes.
/// Host I/O failures surface as <see cref="IOException"/>; the device turns them into VIRTIO_BLK_S_IOERR for the guest.
/// </summary>
public interface IBlockBackend : IDisposable
{
    /// <summary>The virtual disk's size in bytes (what the guest sees).</summary>
    ulong Size { get; }

    /// <summary>Writes, discards and write-zeroes are refused (the device offers VIRTIO_BLK_F_RO).</summary>
    bool ReadOnly { get; }

    /// <summary>Fills <paramref name="destination"/> from the disk at <paramref name="offset"/> (unallocated areas read as zeroes or from a backing file).</summary>
    void Read(ulong offset, Span<byte> destination);

    void Write(ulong offset, ReadOnlySpan<byte> source);

    /// <summary>Makes every completed write durable (fdatasync, and for qcow2 its metadata first).</summary>
    void Flush();

    /// <summary>The guest no longer needs these bytes: the backend may deallocate them (punch a hole, drop clusters); reads may then return zeroes.</summary>
    void Discard(ulong offset, ulong length);

    /// <summary>Makes the range read as zeroes; <paramref name="mayUnmap"/> allows deallocating it instead of writing zeroes.</summary>
    void WriteZeroes(ulong offset, ulong length, bool mayUnmap);
}

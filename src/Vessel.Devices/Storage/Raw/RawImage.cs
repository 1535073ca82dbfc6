namespace Vessel.Devices.Storage.Raw;

/// <summary>
/// A raw image: guest byte N is file byte N. Positional reads and writes (pread/pwrite, no lock, no allocation); holes stay
/// holes, discard punches them, and the guest's size is the file's length when opened.
/// </summary>
public sealed class RawImage : IBlockBackend
{
    private readonly ImageFile file;

    internal RawImage(ImageFile file)
    {
        this.file = file;
        Size = file.Length;
    }

    public ulong Size { get; }

    public bool ReadOnly => file.ReadOnly;

    public void Read(ulong offset, Span<byte> destination)
    {
        CheckRange(offset, (ulong)destination.Length);
        file.Read(offset, destination);
    }

    public void Write(ulong offset, ReadOnlySpan<byte> source)
    {
        CheckWritable();
        CheckRange(offset, (ulong)source.Length);
        file.Write(offset, source);
    }

    public void Flush()
    {
        if (!ReadOnly)
        {
            file.Flush();
        }
    }

    /// <summary>fallocate(PUNCH_HOLE | KEEP_SIZE); a file system that cannot punch holes keeps the data (discard is a hint).</summary>
    public void Discard(ulong offset, ulong length)
    {
        CheckWritable();
        CheckRange(offset, length);
        if (length != 0)
        {
            file.TryPunchHole(offset, length);
        }
    }

    public void WriteZeroes(ulong offset, ulong length, bool mayUnmap)
    {
        CheckWritable();
        CheckRange(offset, length);
        if (length == 0)
        {
            return;
        }

        if ((mayUnmap && file.TryPunchHole(offset, length)) || file.TryZeroRange(offset, length))
        {
            return;
        }

        WriteZeroBuffers(file, offset, length);
    }

    public void Dispose() => file.Dispose();

    /// <summary>Writes explicit zeroes where the file system has no fallocate mode that does it.</summary>
    internal static void WriteZeroBuffers(ImageFile file, ulong offset, ulong length)
    {
        ReadOnlySpan<byte> zeroes = ZeroBuffer.Span;
        while (length > 0)
        {
            int count = (int)Math.Min(length, (ulong)zeroes.Length);
            file.Write(offset, zeroes[..count]);
            offset += (ulong)count;
            length -= (ulong)count;
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

    private void ThrowOutOfRange(ulong offset, ulong length) =>
        throw new ArgumentOutOfRangeException(nameof(offset), $"Access at {offset} of {length} bytes is past the end of '{file.Path}' ({Size} bytes).");

    private void ThrowReadOnly() => throw new InvalidOperationException($"'{file.Path}' is open read-only.");
}

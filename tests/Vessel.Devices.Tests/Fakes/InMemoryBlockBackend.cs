using Vessel.Devices.Storage;

namespace Vessel.Devices.Tests.Fakes;

/// <summary>A disk in a byte array that counts flushes and can be told to fail like a broken host disk.</summary>
public sealed class InMemoryBlockBackend(int size, bool readOnly = false) : IBlockBackend
{
    public byte[] Data { get; } = new byte[size];

    public ulong Size => (ulong)Data.Length;

    public bool ReadOnly { get; } = readOnly;

    public int Flushes { get; private set; }

    public List<(ulong Offset, ulong Length)> Discards { get; } = [];

    public List<(ulong Offset, ulong Length, bool MayUnmap)> ZeroedRanges { get; } = [];

    /// <summary>When set, every access throws this (an EIO from the host, say).</summary>
    public Exception? Failure { get; set; }

    public void Read(ulong offset, Span<byte> destination)
    {
        Check(offset, (ulong)destination.Length);
        Data.AsSpan((int)offset, destination.Length).CopyTo(destination);
    }

    public void Write(ulong offset, ReadOnlySpan<byte> source)
    {
        Check(offset, (ulong)source.Length);
        if (ReadOnly)
        {
            throw new InvalidOperationException("the device wrote to a read-only backend");
        }

        source.CopyTo(Data.AsSpan((int)offset));
    }

    public void Flush()
    {
        Check(0, 0);
        Flushes++;
    }

    public void Discard(ulong offset, ulong length)
    {
        Check(offset, length);
        Discards.Add((offset, length));
        Data.AsSpan((int)offset, (int)length).Clear();
    }

    public void WriteZeroes(ulong offset, ulong length, bool mayUnmap)
    {
        Check(offset, length);
        ZeroedRanges.Add((offset, length, mayUnmap));
        Data.AsSpan((int)offset, (int)length).Clear();
    }

    public void Dispose()
    {
    }

    private void Check(ulong offset, ulong length)
    {
        if (Failure != null)
        {
            throw Failure;
        }

        // The device must have checked the range against Size already; an access past it is a device bug the test should see.
        if (offset > Size || length > Size - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"access 0x{offset:x}+0x{length:x} past a disk of 0x{Size:x}");
        }
    }
}

using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Vessel.Core.Snapshots;

/// <summary>
/// Reads what <see cref="StateWriter"/> wrote. A snapshot file is untrusted: every read is bounds-checked and a short or
/// malformed input raises <see cref="SnapshotFormatException"/> naming the section (<see cref="Context"/>) and offset,
/// never an index or overflow exception.
/// </summary>
public sealed class StateReader
{
    private readonly ReadOnlyMemory<byte> data;
    private int position;

    public StateReader(ReadOnlyMemory<byte> data, string context)
    {
        this.data = data;
        Context = context;
    }

    /// <summary>Where this data came from, for error messages ("snapshot vm.snap, section virtio-blk vda").</summary>
    public string Context { get; }

    public int Position => position;

    public int Remaining => data.Length - position;

    public bool AtEnd => position == data.Length;

    public byte ReadByte() => Take(1)[0];

    public bool ReadBool()
    {
        byte value = ReadByte();
        return value switch
        {
            0 => false,
            1 => true,
            _ => throw Malformed($"a boolean byte is {value}, not 0 or 1"),
        };
    }

    public ushort ReadUInt16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));

    public uint ReadUInt32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

    public int ReadInt32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

    public ulong ReadUInt64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

    public long ReadInt64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

    /// <summary>A length-prefixed byte string, refused when its length is negative or runs past the data.</summary>
    public ReadOnlySpan<byte> ReadBytes()
    {
        int count = ReadInt32();
        if (count < 0 || count > Remaining)
        {
            throw Malformed($"a byte string claims {count} bytes where {Remaining} remain");
        }

        return Take(count);
    }

    public ReadOnlySpan<byte> ReadRaw(int count) => Take(count);

    public string ReadString() => Encoding.UTF8.GetString(ReadBytes());

    /// <summary>A blittable structure written by <see cref="StateWriter.WriteStruct{T}"/>, refused unless its size matches.</summary>
    public T ReadStruct<T>()
        where T : unmanaged
    {
        var bytes = ReadBytes();
        if (bytes.Length != Marshal.SizeOf<T>())
        {
            throw Malformed($"{typeof(T).Name} is {bytes.Length} bytes, expected {Marshal.SizeOf<T>()}");
        }

        return MemoryMarshal.Read<T>(bytes);
    }

    /// <summary>
    /// Reads the next section's header and returns a reader over exactly its body, advancing this reader past it.
    /// Refused when the name is not <paramref name="expectedName"/> or the version is newer than <paramref name="newestVersion"/>.
    /// </summary>
    public StateReader ReadSection(string expectedName, int newestVersion, out int version)
    {
        string name = ReadString();
        if (name != expectedName)
        {
            throw Malformed($"found section '{name}' where '{expectedName}' was expected");
        }

        version = ReadInt32();
        if (version < 1 || version > newestVersion)
        {
            throw Malformed($"section '{name}' has version {version}; this Vessel reads versions 1 to {newestVersion}");
        }

        int bodyLength = ReadInt32();
        if (bodyLength < 0 || bodyLength > Remaining)
        {
            throw Malformed($"section '{name}' claims {bodyLength} bytes where {Remaining} remain");
        }

        var body = data.Slice(position, bodyLength);
        position += bodyLength;
        return new StateReader(body, $"{Context}, section {name}");
    }

    /// <summary>Restores an <see cref="IStateful"/> from its section, checking the body was consumed exactly.</summary>
    public void RestoreSection(string name, IStateful target)
    {
        var section = ReadSection(name, target.StateVersion, out int version);
        target.RestoreState(section, version);
        section.ExpectEnd();
    }

    /// <summary>Refuses trailing bytes: a section longer than its reader consumed is from a different layout.</summary>
    public void ExpectEnd()
    {
        if (!AtEnd)
        {
            throw Malformed($"{Remaining} unexpected bytes at the end");
        }
    }

    /// <summary>An exception for a value that is well-formed but not valid here (a queue size that is not a power of two).</summary>
    public SnapshotFormatException Malformed(string what) =>
        new($"Snapshot data is not valid ({Context}, offset {position}): {what}. The file is truncated, corrupted or from an incompatible Vessel; take the snapshot again.");

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count < 0 || count > Remaining)
        {
            throw Malformed($"needed {count} more bytes, {Remaining} remain");
        }

        var span = data.Span.Slice(position, count);
        position += count;
        return span;
    }
}

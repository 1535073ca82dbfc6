using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Vessel.Core.Snapshots;

/// <summary>
/// Writes machine state as little-endian binary data, in named, versioned, length-prefixed sections, so a reader can
/// check it is where it thinks it is and skip what it does not know.
/// </summary>
public sealed class StateWriter
{
    private byte[] buffer = new byte[256];
    private int length;

    public int Length => length;

    public ReadOnlySpan<byte> WrittenSpan => buffer.AsSpan(0, length);

    public void WriteByte(byte value) => Reserve(1)[0] = value;

    public void WriteBool(bool value) => WriteByte(value ? (byte)1 : (byte)0);

    public void WriteUInt16(ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(Reserve(2), value);

    public void WriteUInt32(uint value) => BinaryPrimitives.WriteUInt32LittleEndian(Reserve(4), value);

    public void WriteInt32(int value) => BinaryPrimitives.WriteInt32LittleEndian(Reserve(4), value);

    public void WriteUInt64(ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(Reserve(8), value);

    public void WriteInt64(long value) => BinaryPrimitives.WriteInt64LittleEndian(Reserve(8), value);

    /// <summary>A byte string with its length in front (<see cref="StateReader.ReadBytes"/>).</summary>
    public void WriteBytes(ReadOnlySpan<byte> value)
    {
        WriteInt32(value.Length);
        value.CopyTo(Reserve(value.Length));
    }

    /// <summary>Bytes with no length in front: the reader must know how many (<see cref="StateReader.ReadRaw"/>).</summary>
    public void WriteRaw(ReadOnlySpan<byte> value) => value.CopyTo(Reserve(value.Length));

    public void WriteString(string value) => WriteBytes(Encoding.UTF8.GetBytes(value));

    /// <summary>
    /// A blittable structure as its bytes (host byte order, which is little-endian on every x86-64 host): the software CPU's
    /// register file saves this way in one copy.
    /// </summary>
    public void WriteStruct<T>(in T value)
        where T : unmanaged => WriteBytes(MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)));

    /// <summary>
    /// Starts a section: its name, its version and its length, patched in when the returned scope is disposed.
    /// <code>using (writer.BeginSection("serial", serial.StateVersion)) { serial.SaveState(writer); }</code>
    /// </summary>
    public SectionScope BeginSection(string name, int version)
    {
        WriteString(name);
        WriteInt32(version);
        int lengthAt = length;
        WriteInt32(0);
        return new SectionScope(this, lengthAt);
    }

    public byte[] ToArray() => WrittenSpan.ToArray();

    private Span<byte> Reserve(int count)
    {
        if (length + count > buffer.Length)
        {
            Array.Resize(ref buffer, Math.Max(buffer.Length * 2, length + count));
        }

        var span = buffer.AsSpan(length, count);
        length += count;
        return span;
    }

    public readonly struct SectionScope : IDisposable
    {
        private readonly StateWriter writer;
        private readonly int lengthAt;

        internal SectionScope(StateWriter writer, int lengthAt)
        {
            this.writer = writer;
            this.lengthAt = lengthAt;
        }

        public void Dispose()
        {
            int bodyLength = writer.length - lengthAt - sizeof(int);
            BinaryPrimitives.WriteInt32LittleEndian(writer.buffer.AsSpan(lengthAt, 4), bodyLength);
        }
    }
}

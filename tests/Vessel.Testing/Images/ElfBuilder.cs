using System.Buffers.Binary;

namespace Vessel.Testing.Images;

/// <summary>Builds a minimal ELF32 or ELF64 executable in memory: header, program headers, then each segment's bytes page-aligned in the file.</summary>
public sealed class ElfBuilder
{
    public const int SegmentFileAlignment = 0x1000;

    public bool Is64 { get; init; } = true;

    public ushort Machine { get; init; }

    public ushort Type { get; init; } = 2;

    public ulong Entry { get; init; }

    public List<ElfSegment> Segments { get; } = [];

    public byte[] Build()
    {
        int headerSize = Is64 ? 64 : 52;
        int phEntrySize = Is64 ? 56 : 32;
        ushort machine = Machine != 0 ? Machine : (ushort)(Is64 ? 62 : 3);
        int phOffset = headerSize;
        int dataOffset = Align(phOffset + (phEntrySize * Segments.Count));
        var offsets = new List<int>();
        int cursor = dataOffset;
        foreach (var segment in Segments)
        {
            offsets.Add(cursor);
            cursor = Align(cursor + segment.Contents.Length);
        }

        var file = new byte[Math.Max(cursor, dataOffset)];
        file[0] = 0x7F;
        file[1] = (byte)'E';
        file[2] = (byte)'L';
        file[3] = (byte)'F';
        file[4] = (byte)(Is64 ? 2 : 1);
        file[5] = 1;
        file[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(16), Type);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(18), machine);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(20), 1);
        if (Is64)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(24), Entry);
            BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(32), (ulong)phOffset);
            BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(52), (ushort)headerSize);
            BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(54), (ushort)phEntrySize);
            BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(56), (ushort)Segments.Count);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(24), (uint)Entry);
            BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(28), (uint)phOffset);
            BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(40), (ushort)headerSize);
            BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(42), (ushort)phEntrySize);
            BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(44), (ushort)Segments.Count);
        }

        for (int index = 0; index < Segments.Count; index++)
        {
            var segment = Segments[index];
            var ph = file.AsSpan(phOffset + (index * phEntrySize), phEntrySize);
            ulong virtualAddress = segment.VirtualAddress ?? segment.PhysicalAddress;
            BinaryPrimitives.WriteUInt32LittleEndian(ph, segment.Type);
            if (Is64)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(ph[4..], 7);
                BinaryPrimitives.WriteUInt64LittleEndian(ph[8..], (ulong)offsets[index]);
                BinaryPrimitives.WriteUInt64LittleEndian(ph[16..], virtualAddress);
                BinaryPrimitives.WriteUInt64LittleEndian(ph[24..], segment.PhysicalAddress);
                BinaryPrimitives.WriteUInt64LittleEndian(ph[32..], (ulong)segment.Contents.Length);
                BinaryPrimitives.WriteUInt64LittleEndian(ph[40..], segment.MemorySize);
                BinaryPrimitives.WriteUInt64LittleEndian(ph[48..], SegmentFileAlignment);
            }
            else
            {
                BinaryPrimitives.WriteUInt32LittleEndian(ph[4..], (uint)offsets[index]);
                BinaryPrimitives.WriteUInt32LittleEndian(ph[8..], (uint)virtualAddress);
                BinaryPrimitives.WriteUInt32LittleEndian(ph[12..], (uint)segment.PhysicalAddress);
                BinaryPrimitives.WriteUInt32LittleEndian(ph[16..], (uint)segment.Contents.Length);
                BinaryPrimitives.WriteUInt32LittleEndian(ph[20..], (uint)segment.MemorySize);
                BinaryPrimitives.WriteUInt32LittleEndian(ph[24..], 7);
                BinaryPrimitives.WriteUInt32LittleEndian(ph[28..], SegmentFileAlignment);
            }

            segment.Contents.CopyTo(file, offsets[index]);
        }

        return file;
    }

    /// <summary>Offset in the built file of segment <paramref name="index"/>'s bytes.</summary>
    public int SegmentFileOffset(int index)
    {
        int phEntrySize = Is64 ? 56 : 32;
        int cursor = Align((Is64 ? 64 : 52) + (phEntrySize * Segments.Count));
        for (int i = 0; i < index; i++)
        {
            cursor = Align(cursor + Segments[i].Contents.Length);
        }

        return cursor;
    }

    private static int Align(int value) => (value + SegmentFileAlignment - 1) / SegmentFileAlignment * SegmentFileAlignment;
}

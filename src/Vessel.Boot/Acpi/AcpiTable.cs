using System.Buffers.Binary;
using System.Text;

namespace Vessel.Boot.Acpi;

/// <summary>
/// A system description table under construction: the 36-byte header every table but the RSDP and FACS starts with
/// (ACPI 6.5 §5.2.6, Table 5.4), then the table's own fields appended little-endian. <see cref="ToArray"/> fills in the
/// length and the checksum that makes all bytes of the table sum to zero.
/// </summary>
public sealed class AcpiTable
{
    public const int HeaderSize = 36;

    /// <summary>Offset of the checksum byte in the header.</summary>
    public const int ChecksumOffset = 9;

    /// <summary>OEMID (6 bytes), in the RSDP and every table header.</summary>
    public const string OemId = "VESSEL";

    /// <summary>OEM Table ID (8 bytes).</summary>
    public const string OemTableId = "VESSELVM";

    /// <summary>Creator ID (4 bytes): the vendor of the tool that made the table.</summary>
    public const string CreatorId = "VSSL";

    private const int LengthOffset = 4;

    private readonly List<byte> bytes = new(256);

    public AcpiTable(string signature, byte revision)
    {
        AppendAscii(signature, 4);
        AppendUInt32(0);
        AppendByte(revision);
        AppendByte(0);
        AppendAscii(OemId, 6);
        AppendAscii(OemTableId, 8);
        AppendUInt32(1);
        AppendAscii(CreatorId, 4);
        AppendUInt32(1);
    }

    public int Length => bytes.Count;

    public static byte Checksum(ReadOnlySpan<byte> data)
    {
        byte sum = 0;
        foreach (byte value in data)
        {
            sum += value;
        }

        return (byte)-sum;
    }

    public void AppendByte(byte value) => bytes.Add(value);

    public void AppendUInt16(ushort value)
    {
        Span<byte> buffer = stackalloc byte[sizeof(ushort)];
        BinaryPrimitives.WriteUInt16LittleEndian(buffer, value);
        bytes.AddRange(buffer);
    }

    public void AppendUInt32(uint value)
    {
        Span<byte> buffer = stackalloc byte[sizeof(uint)];
        BinaryPrimitives.WriteUInt32LittleEndian(buffer, value);
        bytes.AddRange(buffer);
    }

    public void AppendUInt64(ulong value)
    {
        Span<byte> buffer = stackalloc byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64LittleEndian(buffer, value);
        bytes.AddRange(buffer);
    }

    public void AppendBytes(ReadOnlySpan<byte> data) => bytes.AddRange(data);

    public void AppendZeros(int count)
    {
        for (int i = 0; i < count; i++)
        {
            bytes.Add(0);
        }
    }

    /// <summary>ASCII text padded with NULs (or cut) to exactly <paramref name="width"/> bytes.</summary>
    public void AppendAscii(string text, int width)
    {
        byte[] ascii = Encoding.ASCII.GetBytes(text);
        for (int i = 0; i < width; i++)
        {
            bytes.Add(i < ascii.Length ? ascii[i] : (byte)0);
        }
    }

    public void AppendAddress(GenericAddress address) => address.AppendTo(this);

    /// <summary>The finished table: length and checksum filled in.</summary>
    public byte[] ToArray()
    {
        byte[] table = [.. bytes];
        BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(LengthOffset), (uint)table.Length);
        table[ChecksumOffset] = 0;
        table[ChecksumOffset] = Checksum(table);
        return table;
    }
}

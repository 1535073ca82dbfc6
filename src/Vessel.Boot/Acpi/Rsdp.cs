using System.Buffers.Binary;
using System.Text;

namespace Vessel.Boot.Acpi;

/// <summary>
/// Root System Description Pointer, revision 2 (ACPI 6.5 §5.2.5.3, Table 5.3). Vessel gives no RSDT: a revision-2 RSDP with
/// an XSDT is what ACPI 2.0+ operating systems use (Linux takes the XSDT whenever it is present).
/// </summary>
public static class Rsdp
{
    public const int Size = 36;

    /// <summary>Revision 2 covers the extended fields (ACPI 2.0 and later).</summary>
    public const byte Revision = 2;

    /// <summary>The first 20 bytes (the ACPI 1.0 structure) carry their own checksum.</summary>
    public const int Version1Size = 20;

    public const int ChecksumOffset = 8;

    public const int ExtendedChecksumOffset = 32;

    public static byte[] Build(ulong xsdtAddress)
    {
        var rsdp = new byte[Size];
        Encoding.ASCII.GetBytes("RSD PTR ").CopyTo(rsdp, 0);
        Encoding.ASCII.GetBytes(AcpiTable.OemId).CopyTo(rsdp, 9);
        rsdp[15] = Revision;
        BinaryPrimitives.WriteUInt32LittleEndian(rsdp.AsSpan(16), 0);
        BinaryPrimitives.WriteUInt32LittleEndian(rsdp.AsSpan(20), Size);
        BinaryPrimitives.WriteUInt64LittleEndian(rsdp.AsSpan(24), xsdtAddress);
        rsdp[ChecksumOffset] = AcpiTable.Checksum(rsdp.AsSpan(0, Version1Size));
        rsdp[ExtendedChecksumOffset] = AcpiTable.Checksum(rsdp);
        return rsdp;
    }
}

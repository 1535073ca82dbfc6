using System.Buffers.Binary;
using System.Text;

namespace Vessel.Boot.Acpi;

/// <summary>
/// Firmware ACPI Control Structure (ACPI 6.5 §5.2.10, Table 5.14), which a FADT without HW_REDUCED_ACPI points to. Vessel
/// offers no sleep states that need a waking vector, so everything but the signature, length and version stays zero.
/// </summary>
public static class Facs
{
    public const int Size = 64;

    /// <summary>The FACS must be 64-byte aligned (Table 5.9, FIRMWARE_CTRL).</summary>
    public const int Alignment = 64;

    public const byte Version = 2;

    public static byte[] Build()
    {
        var facs = new byte[Size];
        Encoding.ASCII.GetBytes("FACS").CopyTo(facs, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(facs.AsSpan(4), Size);
        facs[32] = Version;
        return facs;
    }
}

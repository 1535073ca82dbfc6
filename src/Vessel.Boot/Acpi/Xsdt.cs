namespace Vessel.Boot.Acpi;

/// <summary>Extended System Description Table (ACPI 6.5 §5.2.8): the header, then one 64-bit address per table.</summary>
public static class Xsdt
{
    public const byte Revision = 1;

    public static byte[] Build(IEnumerable<ulong> tableAddresses)
    {
        var table = new AcpiTable("XSDT", Revision);
        foreach (ulong address in tableAddresses)
        {
            table.AppendUInt64(address);
        }

        return table.ToArray();
    }
}

namespace Vessel.Boot.Acpi;

/// <summary>
/// PCI Express memory-mapped configuration table (PCI Firmware Specification 3.2 §4.1.2): one allocation, segment 0, the
/// ECAM window for buses 0 to <see cref="PciRootDescription.LastBus"/>. Linux also wants that window reserved, which the
/// machine's e820 map does.
/// </summary>
public static class Mcfg
{
    public const byte Revision = 1;

    public static byte[] Build(PciRootDescription pci)
    {
        var table = new AcpiTable("MCFG", Revision);
        table.AppendUInt64(0);
        table.AppendUInt64(pci.EcamBase);
        table.AppendByte(0);
        table.AppendByte(0);
        table.AppendByte(0);
        table.AppendByte(pci.LastBus);
        table.AppendUInt32(0);
        return table.ToArray();
    }
}

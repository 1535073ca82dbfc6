namespace Vessel.Boot.Acpi;

/// <summary>
/// Differentiated System Description Table (ACPI 6.5 §5.2.11.1): the header and a little AML. It defines \_S5 so the OS can
/// power off (§7.4.2: the package's first two elements are the SLP_TYP values for PM1a_CNT and PM1b_CNT), and the legacy
/// ISA devices under \_SB with their _HID and _CRS, where firmware would report them.
/// </summary>
public static class Dsdt
{
    /// <summary>Revision 2: integers in this table's AML are 64 bits wide (§5.2.11.1).</summary>
    public const byte Revision = 2;

    public static byte[] Build(AcpiPlatform platform)
    {
        var aml = new AmlWriter();
        aml.Name("\\_S5", s5 => s5.Package(
            elements => elements.ByteConstant(platform.SoftOffSleepType).ByteConstant(platform.SoftOffSleepType).Zero().Zero(),
            elementCount: 4));
        if (platform.IsaDevices.Count > 0)
        {
            aml.Scope("\\_SB", bus =>
            {
                for (int index = 0; index < platform.IsaDevices.Count; index++)
                {
                    IsaDevice device = platform.IsaDevices[index];
                    var resources = new ResourceTemplate();
                    foreach (var (port, length) in device.Ports)
                    {
                        resources.IoPorts(port, length);
                    }

                    resources.Irq(device.Irq);
                    int unit = index;
                    bus.Device(device.Name, body => body
                        .Name("_HID", hid => hid.EisaId(device.HardwareId))
                        .Name("_UID", uid => uid.Integer((ulong)unit))
                        .Name("_CRS", crs => crs.Buffer(resources.ToArray())));
                }
            });
        }

        var table = new AcpiTable("DSDT", Revision);
        table.AppendBytes(aml.ToArray());
        return table.ToArray();
    }
}

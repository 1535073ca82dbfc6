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
        if (platform.IsaDevices.Count > 0 || platform.Pci != null)
        {
            aml.Scope("\\_SB", bus =>
            {
                if (platform.Pci is { } pci)
                {
                    DescribePciRoot(bus, pci);
                }

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

    /// <summary>
    /// \_SB.PCI0, a PCI Express root bridge (PNP0A08, compatible with PNP0A03): segment 0, bus 0, configuration ports
    /// 0xCF8-0xCFF, the I/O, 32-bit and 64-bit memory windows it forwards (_CRS, §6.4.3.5), and its _PRT (§6.2.13) wiring each
    /// device's INTA# straight to a GSI, so no interrupt link devices are needed.
    /// </summary>
    private static void DescribePciRoot(AmlWriter bus, PciRootDescription pci)
    {
        var resources = new ResourceTemplate()
            .BusNumbers(0, pci.LastBus)
            .IoPorts(0xCF8, 8)
            .IoWindow(0x0000, 0x0CF7)
            .IoWindow(0x0D00, 0xFFFF)
            .MemoryWindow32((uint)pci.Mmio32Start, (uint)pci.Mmio32Size)
            .MemoryWindow64(pci.Mmio64Start, pci.Mmio64Size);
        bus.Device("PCI0", body =>
        {
            body.Name("_HID", hid => hid.EisaId("PNP0A08"))
                .Name("_CID", cid => cid.EisaId("PNP0A03"))
                .Name("_ADR", adr => adr.Zero())
                .Name("_SEG", seg => seg.Zero())
                .Name("_BBN", bbn => bbn.Zero())
                .Name("_UID", uid => uid.Zero())
                .Name("_CRS", crs => crs.Buffer(resources.ToArray()));
            if (pci.InterruptRoutes.Count > 0)
            {
                // Package (4) { Address: device in the high word, any function; Pin: 0 = INTA; Source: 0 = a GSI; SourceIndex: the GSI }.
                body.Name("_PRT", prt => prt.Package(
                    routes =>
                    {
                        foreach (var (slot, gsi) in pci.InterruptRoutes)
                        {
                            routes.Package(
                                entry => entry.Integer(((ulong)slot << 16) | 0xFFFF).Zero().Zero().Integer((ulong)gsi),
                                elementCount: 4);
                        }
                    },
                    elementCount: (byte)pci.InterruptRoutes.Count));
            }
        });
    }
}

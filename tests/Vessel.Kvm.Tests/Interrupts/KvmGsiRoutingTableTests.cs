using Vessel.Kvm.Interop;

namespace Vessel.Kvm.Tests.Interrupts;

/// <summary>The GSI routing table we hand KVM_SET_GSI_ROUTING, which replaces the kernel's own defaults.</summary>
public sealed class KvmGsiRoutingTableTests
{
    [Fact]
    public void An_empty_table_is_the_kernels_default_irqchip_routing()
    {
        var entries = new KvmGsiRoutingTable(4096).Build();

        Assert.Equal(40, entries.Length);
        Assert.All(entries, entry => Assert.Equal(KvmIrqRoutingEntry.TypeIrqchip, entry.Type));
        for (uint gsi = 0; gsi < 24; gsi++)
        {
            var routes = entries.Where(e => e.Gsi == gsi).Select(e => ((KvmIrqchipId)e.Irqchip.Irqchip, e.Irqchip.Pin)).ToArray();
            var expected = new List<(KvmIrqchipId, uint)> { (KvmIrqchipId.Ioapic, gsi) };
            if (gsi < 8)
            {
                expected.Add((KvmIrqchipId.PicMaster, gsi));
            }
            else if (gsi < 16)
            {
                expected.Add((KvmIrqchipId.PicSlave, gsi - 8));
            }

            Assert.Equal(expected, routes);
        }
    }

    [Fact]
    public void Msi_routes_take_gsis_above_the_ioapic_pins_and_appear_once_they_have_a_message()
    {
        var table = new KvmGsiRoutingTable(4096);

        int first = table.AllocateMsiGsi()!.Value;
        int second = table.AllocateMsiGsi()!.Value;
        Assert.Equal((24, 25), (first, second));
        Assert.Equal(40, table.Build().Length);

        Assert.True(table.SetMessage(second, 0x1_FEE0_1000, 0x4041));
        var msi = Assert.Single(table.Build(), e => e.Type == KvmIrqRoutingEntry.TypeMsi);
        Assert.Equal((25u, 0xFEE0_1000u, 1u, 0x4041u), (msi.Gsi, msi.Msi.AddressLo, msi.Msi.AddressHi, msi.Msi.Data));
    }

    [Fact]
    public void Setting_the_same_message_again_reports_no_change()
    {
        var table = new KvmGsiRoutingTable(4096);
        int gsi = table.AllocateMsiGsi()!.Value;

        Assert.True(table.SetMessage(gsi, 0xFEE0_0000, 0x30));
        Assert.False(table.SetMessage(gsi, 0xFEE0_0000, 0x30));
        Assert.True(table.SetMessage(gsi, 0xFEE0_0000, 0x31));
    }

    [Fact]
    public void A_freed_gsi_leaves_the_table_and_is_handed_out_again()
    {
        var table = new KvmGsiRoutingTable(4096);
        int first = table.AllocateMsiGsi()!.Value;
        int second = table.AllocateMsiGsi()!.Value;
        table.SetMessage(first, 0xFEE0_0000, 0x30);
        table.SetMessage(second, 0xFEE0_0000, 0x31);

        table.Free(first);

        Assert.DoesNotContain(table.Build(), e => e.Gsi == (uint)first);
        Assert.Contains(table.Build(), e => e.Gsi == (uint)second);
        Assert.Equal(first, table.AllocateMsiGsi());
    }

    [Fact]
    public void Allocation_stops_when_the_kernels_route_limit_is_reached()
    {
        // 40 default entries leave room for 3 MSI routes under a limit of 43.
        var table = new KvmGsiRoutingTable(43);

        Assert.NotNull(table.AllocateMsiGsi());
        Assert.NotNull(table.AllocateMsiGsi());
        Assert.NotNull(table.AllocateMsiGsi());
        Assert.Null(table.AllocateMsiGsi());
        Assert.Equal(3, table.MsiRouteCount);
    }

    [Fact]
    public void A_cleared_message_drops_the_entry_but_keeps_the_gsi()
    {
        var table = new KvmGsiRoutingTable(4096);
        int gsi = table.AllocateMsiGsi()!.Value;
        table.SetMessage(gsi, 0xFEE0_0000, 0x30);

        table.ClearMessage(gsi);

        Assert.Equal(40, table.Build().Length);
        Assert.Equal(25, table.AllocateMsiGsi());
    }
}

using Vessel.X86.IrqChip;

namespace Vessel.X86.Tests.IrqChip;

public class DualPicTests
{
    private static DualPic Initialized(out List<bool> outputs)
    {
        var seen = new List<bool>();
        outputs = seen;
        var pic = new DualPic(seen.Add);
        foreach (var (port, value) in new (ushort, byte)[]
        {
            (0x20, 0x11), (0x21, 0x20), (0x21, 0x04), (0x21, 0x01),
            (0xA0, 0x11), (0xA1, 0x28), (0xA1, 0x02), (0xA1, 0x01),
            (0x21, 0x00), (0xA1, 0x00),
        })
        {
            pic.WritePort(port, value);
        }

        return pic;
    }

    [Fact]
    public void A_request_raises_intr_and_acknowledge_returns_its_vector_in_service()
    {
        var pic = Initialized(out var outputs);

        pic.SetIrq(1, true);

        Assert.True(pic.OutputAsserted);
        Assert.Contains(true, outputs);
        Assert.Equal(0x21, pic.Acknowledge());
        Assert.Equal((byte)0x02, pic.State(master: true).InService);
        Assert.False(pic.OutputAsserted);
    }

    [Fact]
    public void Ocw3_selects_irr_or_isr_and_a_nonspecific_eoi_clears_the_highest_in_service()
    {
        var pic = Initialized(out _);
        pic.SetIrq(3, true);
        pic.WritePort(0x20, 0x0A);
        Assert.Equal(0x08, pic.ReadPort(0x20));

        pic.Acknowledge();
        pic.WritePort(0x20, 0x0B);
        Assert.Equal(0x08, pic.ReadPort(0x20));

        pic.WritePort(0x20, 0x20);
        Assert.Equal(0x00, pic.ReadPort(0x20));
    }

    [Fact]
    public void A_lower_priority_request_waits_for_the_eoi_of_a_higher_one()
    {
        var pic = Initialized(out _);
        pic.SetIrq(0, true);
        Assert.Equal(0x20, pic.Acknowledge());

        pic.SetIrq(4, true);
        Assert.False(pic.OutputAsserted);

        pic.WritePort(0x20, 0x20);
        Assert.True(pic.OutputAsserted);
        Assert.Equal(0x24, pic.Acknowledge());
    }

    [Fact]
    public void Slave_requests_cascade_through_irq_2_with_the_slave_vector()
    {
        var pic = Initialized(out _);

        pic.SetIrq(12, true);

        Assert.True(pic.OutputAsserted);
        Assert.Equal(0x2C, pic.Acknowledge());
        Assert.Equal((byte)0x10, pic.State(master: false).InService);
        Assert.Equal((byte)0x04, pic.State(master: true).InService);
    }

    [Fact]
    public void An_acknowledge_with_nothing_pending_is_the_spurious_irq_7()
    {
        var pic = Initialized(out _);

        Assert.Equal(0x27, pic.Acknowledge());
        Assert.Equal((byte)0, pic.State(master: true).InService);
    }

    [Fact]
    public void Masked_pins_do_not_raise_intr()
    {
        var pic = Initialized(out _);
        pic.WritePort(0x21, 0xFF);

        pic.SetIrq(5, true);

        Assert.False(pic.OutputAsserted);
        Assert.Equal(0xFF, pic.ReadPort(0x21));
    }

    [Fact]
    public void Elcr_makes_a_pin_level_triggered_so_its_request_follows_the_line()
    {
        var pic = Initialized(out _);
        pic.WritePort(0x4D1, 0xFF);
        Assert.Equal(0xDE, pic.ReadPort(0x4D1));

        pic.SetIrq(10, true);
        Assert.Equal(0x2A, pic.Acknowledge());
        pic.WritePort(0xA0, 0x20);
        pic.WritePort(0x20, 0x20);
        Assert.Equal((byte)0x04, pic.State(master: false).Request);

        pic.SetIrq(10, false);
        Assert.Equal((byte)0x00, pic.State(master: false).Request);
    }

    [Fact]
    public void An_edge_request_stays_latched_after_its_line_drops()
    {
        var pic = Initialized(out _);

        pic.SetIrq(3, true);
        pic.SetIrq(3, false);

        Assert.True(pic.OutputAsserted);
        Assert.Equal(0x23, pic.Acknowledge());
    }

    [Fact]
    public void Auto_eoi_leaves_nothing_in_service()
    {
        var pic = new DualPic(_ => { });
        foreach (var (port, value) in new (ushort, byte)[] { (0x20, 0x11), (0x21, 0x08), (0x21, 0x04), (0x21, 0x03), (0x21, 0x00) })
        {
            pic.WritePort(port, value);
        }

        pic.SetIrq(6, true);

        Assert.Equal(0x0E, pic.Acknowledge());
        Assert.Equal((byte)0, pic.State(master: true).InService);
    }
}

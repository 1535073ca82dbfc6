using Vessel.Core.Bus;
using Vessel.Core.Logging;

namespace Vessel.Core.Tests;

public sealed class AddressBusChangeTests
{
    private readonly MmioBus bus = new(NullMachineLog.Instance);

    private sealed class Constant(byte value) : IBusDevice
    {
        public void Read(ulong offset, Span<byte> data) => data.Fill(value);

        public void Write(ulong offset, ReadOnlySpan<byte> data)
        {
        }
    }

    [Fact]
    public void Try_register_refuses_an_overlap_and_names_the_range_in_the_way()
    {
        var first = new Constant(1);
        Assert.True(bus.TryRegister(0x1000, 0x100, first, "first", out _));

        Assert.False(bus.TryRegister(0x10FF, 0x10, new Constant(2), "second", out var conflict));

        Assert.Equal("first", conflict.Name);
        Assert.True(bus.TryRegister(0x1100, 0x10, new Constant(2), "second", out _));
    }

    [Fact]
    public void Unregister_drops_only_the_named_devices_range()
    {
        var device = new Constant(1);
        bus.Register(0x1000, 0x100, device, "device");

        Assert.False(bus.Unregister(0x1000, new Constant(1)));
        Assert.False(bus.Unregister(0x1001, device));
        Assert.Equal(1, Read(0x1000));
        Assert.True(bus.Unregister(0x1000, device));

        Assert.Equal(0xFF, Read(0x1000));
        Assert.Empty(bus.Ranges);
    }

    [Fact]
    public void Try_move_moves_a_range_in_one_step_and_may_overlap_its_old_place()
    {
        var device = new Constant(5);
        bus.Register(0x1000, 0x100, device, "device");

        Assert.True(bus.TryMove(0x1000, 0x1080, device, out _));

        Assert.Equal(0xFF, Read(0x1000));
        Assert.Equal(5, Read(0x1080));
        Assert.Equal(5, Read(0x117F));
        Assert.Equal(0x1080UL, Assert.Single(bus.Ranges).Start);
    }

    [Fact]
    public void Try_move_onto_another_device_fails_and_leaves_the_range_where_it_was()
    {
        var moving = new Constant(5);
        bus.Register(0x1000, 0x100, moving, "moving");
        bus.Register(0x3000, 0x100, new Constant(6), "other");

        Assert.False(bus.TryMove(0x1000, 0x2F80, moving, out var conflict));

        Assert.Equal("other", conflict.Name);
        Assert.Equal(5, Read(0x1000));
        Assert.Equal(0xFF, Read(0x2F80));
    }

    [Fact]
    public void Try_move_of_a_range_the_device_does_not_hold_is_a_host_error()
    {
        Assert.Throws<InvalidOperationException>(() => bus.TryMove(0x1000, 0x2000, new Constant(1), out _));
    }

    [Fact]
    public void A_port_range_that_moves_is_found_at_its_new_ports_only()
    {
        var ports = new IoPortBus(NullMachineLog.Instance);
        var device = new Constant(9);
        ports.Register(0xC000, 0x20, device, "bar");

        Assert.True(ports.TryMove(0xC000, 0xC100, device, out _));

        Span<byte> data = stackalloc byte[1];
        ports.Read(0xC000, data);
        Assert.Equal(0xFF, data[0]);
        ports.Read(0xC11F, data);
        Assert.Equal(9, data[0]);
    }

    private byte Read(ulong address)
    {
        Span<byte> data = stackalloc byte[1];
        bus.Read(address, data);
        return data[0];
    }
}

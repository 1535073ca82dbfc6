using Vessel.Core.Bus;
using Vessel.Core.Logging;

namespace Vessel.Core.Tests;

public class BusTests
{
    private sealed class RecordingLog : IMachineLog
    {
        public List<string> Messages { get; } = [];

        public void Info(string message) => Messages.Add(message);

        public void Warn(string message) => Messages.Add(message);
    }

    private sealed class RegisterFile : IBusDevice
    {
        public byte[] Registers { get; } = new byte[16];

        public void Read(ulong offset, Span<byte> data) => Registers.AsSpan((int)offset, data.Length).CopyTo(data);

        public void Write(ulong offset, ReadOnlySpan<byte> data) => data.CopyTo(Registers.AsSpan((int)offset));
    }

    [Fact]
    public void A_port_access_reaches_the_device_at_its_offset()
    {
        var bus = new IoPortBus(new RecordingLog());
        var device = new RegisterFile();
        bus.Register(0x3F8, 8, device, "uart");

        bus.Write(0x3FB, [0x83]);
        Span<byte> value = stackalloc byte[1];
        bus.Read(0x3FB, value);

        Assert.Equal(0x83, device.Registers[3]);
        Assert.Equal(0x83, value[0]);
    }

    [Fact]
    public void An_unclaimed_port_reads_all_ones_and_is_logged_once()
    {
        var log = new RecordingLog();
        var bus = new IoPortBus(log);
        Span<byte> value = stackalloc byte[2];

        bus.Read(0x1234, value);
        bus.Read(0x1234, value);

        Assert.Equal(0xFF, value[0]);
        Assert.Equal(0xFF, value[1]);
        Assert.Single(log.Messages);
        Assert.Contains("0x1234", log.Messages[0]);
    }

    [Fact]
    public void Overlapping_registrations_are_refused_naming_both_devices()
    {
        var bus = new MmioBus(new RecordingLog());
        bus.Register(0xD000_0000, 0x1000, new RegisterFile(), "first");

        var error = Assert.Throws<BusConflictException>(() => bus.Register(0xD000_0800, 0x1000, new RegisterFile(), "second"));

        Assert.Contains("first", error.Message);
        Assert.Contains("second", error.Message);
    }

    [Fact]
    public void Mmio_lookups_find_the_right_device_among_many()
    {
        var bus = new MmioBus(new RecordingLog());
        var devices = Enumerable.Range(0, 10).Select(_ => new RegisterFile()).ToArray();
        for (int i = 0; i < devices.Length; i++)
        {
            bus.Register(0xD000_0000 + ((ulong)i * 0x1000), 16, devices[i], $"device {i}");
        }

        bus.Write(0xD000_7004, [0x5A]);

        Assert.Equal(0x5A, devices[7].Registers[4]);
        Assert.All(devices.Where((_, i) => i != 7), d => Assert.Equal(0, d.Registers[4]));
    }
}

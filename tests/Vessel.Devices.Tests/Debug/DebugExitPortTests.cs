using Vessel.Core.Interrupts;
using Vessel.Devices.Debug;
using Vessel.Devices.Tests.Fakes;

namespace Vessel.Devices.Tests.Debug;

public sealed class DebugExitPortTests
{
    private readonly FakeSystemControl system = new();
    private readonly DebugExitPort port;

    public DebugExitPortTests() => port = new DebugExitPort(system);

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 3)]
    [InlineData(0x10, 0x21)]
    public void Byte_write_stops_the_machine_with_exit_status_value_shifted_left_plus_one(byte value, int exitStatus)
    {
        port.Write(0, [value]);

        var stop = Assert.Single(system.Stops);
        Assert.Equal(MachineStopReason.DebugExit, stop.Reason);
        Assert.Equal(exitStatus, stop.ExitStatus);
    }

    [Fact]
    public void Word_write_uses_the_whole_value()
    {
        port.Write(0, [0x01, 0x01]);

        var stop = Assert.Single(system.Stops);
        Assert.Equal(MachineStop.DebugExit(0x0101), stop);
    }

    [Fact]
    public void Doubleword_write_uses_the_whole_value()
    {
        port.Write(0, [0x78, 0x56, 0x34, 0x12]);

        Assert.Equal(MachineStop.DebugExit(0x12345678), Assert.Single(system.Stops));
    }

    [Fact]
    public void Reads_return_zero_as_in_QEMU()
    {
        Span<byte> value = [0xAA, 0xAA];

        port.Read(0, value);

        Assert.Equal(new byte[] { 0, 0 }, value.ToArray());
        Assert.Empty(system.Stops);
    }
}

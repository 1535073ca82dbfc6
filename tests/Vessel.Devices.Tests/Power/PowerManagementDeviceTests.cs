using Vessel.Core.Interrupts;
using Vessel.Devices.Power;
using Vessel.Devices.Tests.Fakes;

namespace Vessel.Devices.Tests.Power;

public sealed class PowerManagementDeviceTests
{
    private readonly FakeInterruptLine sci = new();
    private readonly FakeSystemControl system = new();
    private readonly RecordingMachineLog log = new();
    private readonly PowerManagementDevice device;

    public PowerManagementDeviceTests() => device = new PowerManagementDevice(sci, system, log);

    [Fact]
    public void Slp_en_with_the_soft_off_type_powers_the_machine_off()
    {
        // Linux's acpi_hw_legacy_sleep writes SLP_TYP first, then SLP_TYP | SLP_EN.
        WriteWord(PowerManagementDevice.ControlOffset, 5 << 10);
        Assert.Empty(system.Stops);

        WriteWord(PowerManagementDevice.ControlOffset, (5 << 10) | (1 << 13));

        Assert.Equal([MachineStop.PowerOff()], system.Stops);
    }

    [Fact]
    public void Other_sleep_types_are_refused_with_one_warning()
    {
        WriteWord(PowerManagementDevice.ControlOffset, (3 << 10) | (1 << 13));
        WriteWord(PowerManagementDevice.ControlOffset, (3 << 10) | (1 << 13));

        Assert.Empty(system.Stops);
        Assert.Single(log.Warnings);
    }

    [Fact]
    public void Pm1_control_reads_back_sci_en_and_slp_typ_but_never_slp_en()
    {
        WriteWord(PowerManagementDevice.ControlOffset, (2 << 10) | (1 << 13) | (1 << 2));

        Assert.Equal((ushort)((2 << 10) | 1), ReadWord(PowerManagementDevice.ControlOffset));
    }

    [Fact]
    public void Writing_the_reset_value_to_the_reset_register_resets_the_machine()
    {
        device.Write(PowerManagementDevice.ResetRegisterOffset, [PowerManagementDevice.ResetValue]);

        Assert.Equal(MachineStopReason.Reset, Assert.Single(system.Stops).Reason);
    }

    [Fact]
    public void Other_values_in_the_reset_register_are_ignored()
    {
        device.Write(PowerManagementDevice.ResetRegisterOffset, [0x0E]);

        Assert.Empty(system.Stops);
    }

    [Fact]
    public void An_enabled_power_button_event_raises_the_sci_until_its_status_is_cleared()
    {
        device.PressPowerButton();
        Assert.False(sci.Asserted);

        WriteWord(PowerManagementDevice.EnableOffset, (ushort)PowerManagementStatus.PowerButton);
        Assert.True(sci.Asserted);
        Assert.Equal((ushort)PowerManagementStatus.PowerButton, ReadWord(PowerManagementDevice.StatusOffset));

        WriteWord(PowerManagementDevice.StatusOffset, (ushort)PowerManagementStatus.PowerButton);
        Assert.False(sci.Asserted);
        Assert.Equal(0, ReadWord(PowerManagementDevice.StatusOffset));
    }

    [Fact]
    public void Unused_ports_in_the_block_read_zero()
    {
        Span<byte> data = stackalloc byte[4];
        data.Fill(0xFF);

        device.Read(8, data);

        Assert.Equal(new byte[4], data.ToArray());
    }

    private void WriteWord(int offset, int value) => device.Write((ulong)offset, [(byte)value, (byte)(value >> 8)]);

    private ushort ReadWord(int offset)
    {
        Span<byte> data = stackalloc byte[2];
        device.Read((ulong)offset, data);
        return (ushort)(data[0] | (data[1] << 8));
    }
}

using Vessel.Core.Interrupts;
using Vessel.Devices.Keyboard;
using Vessel.Devices.Tests.Fakes;

namespace Vessel.Devices.Tests.Keyboard;

public sealed class I8042ControllerTests
{
    private const byte Acknowledge = 0xFA;

    private readonly FakeInterruptLine keyboardLine = new();
    private readonly FakeInterruptLine auxiliaryLine = new();
    private readonly FakeSystemControl system = new();
    private readonly RecordingMachineLog log = new();
    private readonly I8042Controller controller;

    public I8042ControllerTests() => controller = new I8042Controller(keyboardLine, auxiliaryLine, system, log);

    [Fact]
    public void Status_after_power_on_has_an_empty_output_buffer_and_the_system_flag()
    {
        var status = Status();

        Assert.Equal(ControllerStatus.SystemFlag | ControllerStatus.KeyboardUnlocked, status);
    }

    [Fact]
    public void Self_test_answers_0x55()
    {
        Command(ControllerCommand.SelfTest);

        Assert.True((Status() & ControllerStatus.OutputBufferFull) != 0);
        Assert.Equal(0x55, ReadData());
        Assert.True((Status() & ControllerStatus.OutputBufferFull) == 0);
    }

    [Fact]
    public void Interface_tests_answer_zero()
    {
        Command(ControllerCommand.KeyboardInterfaceTest);
        Assert.Equal(0x00, ReadData());

        Command(ControllerCommand.AuxiliaryInterfaceTest);
        Assert.Equal(0x00, ReadData());
    }

    [Fact]
    public void Command_byte_reads_back_what_was_written()
    {
        Command(ControllerCommand.WriteConfiguration);
        WriteData(0x47);

        Command(ControllerCommand.ReadConfiguration);

        Assert.Equal(0x47, ReadData());
    }

    [Fact]
    public void Command_byte_starts_as_firmware_leaves_it()
    {
        Command(ControllerCommand.ReadConfiguration);

        Assert.Equal(
            ControllerConfiguration.KeyboardInterruptEnable | ControllerConfiguration.SystemFlag
            | ControllerConfiguration.AuxiliaryDisable | ControllerConfiguration.Translate,
            (ControllerConfiguration)ReadData());
    }

    [Fact]
    public void Status_reports_whether_the_last_write_was_a_command()
    {
        Command(ControllerCommand.EnableKeyboardInterface);
        Assert.True((Status() & ControllerStatus.CommandData) != 0);

        WriteData((byte)KeyboardCommand.EnableScanning);
        Assert.True((Status() & ControllerStatus.CommandData) == 0);
    }

    [Fact]
    public void Disable_and_enable_commands_toggle_the_command_byte()
    {
        Command(ControllerCommand.DisableKeyboardInterface);
        Command(ControllerCommand.EnableAuxiliaryInterface);

        Command(ControllerCommand.ReadConfiguration);
        var configuration = (ControllerConfiguration)ReadData();
        Assert.True((configuration & ControllerConfiguration.KeyboardDisable) != 0);
        Assert.True((configuration & ControllerConfiguration.AuxiliaryDisable) == 0);

        Command(ControllerCommand.EnableKeyboardInterface);
        Command(ControllerCommand.DisableAuxiliaryInterface);

        Command(ControllerCommand.ReadConfiguration);
        configuration = (ControllerConfiguration)ReadData();
        Assert.True((configuration & ControllerConfiguration.KeyboardDisable) == 0);
        Assert.True((configuration & ControllerConfiguration.AuxiliaryDisable) != 0);
    }

    [Fact]
    public void Pulse_reset_command_requests_a_machine_reset()
    {
        Command(ControllerCommand.PulseResetLine);

        Assert.Equal(MachineStopReason.Reset, Assert.Single(system.Stops).Reason);
    }

    [Fact]
    public void Pulsing_lines_other_than_reset_does_not_reset()
    {
        Command((ControllerCommand)0xFF);

        Assert.Empty(system.Stops);
    }

    [Fact]
    public void Writing_the_output_port_with_bit_zero_clear_requests_a_machine_reset()
    {
        Command(ControllerCommand.WriteOutputPort);
        WriteData((byte)ControllerOutputPort.A20Gate);

        Assert.Equal(MachineStopReason.Reset, Assert.Single(system.Stops).Reason);
    }

    [Fact]
    public void Output_port_reads_back_a20_changes_without_resetting()
    {
        Command(ControllerCommand.ReadOutputPort);
        Assert.Equal(ControllerOutputPort.PowerOnDefault, (ControllerOutputPort)ReadData());

        Command(ControllerCommand.WriteOutputPort);
        WriteData((byte)(ControllerOutputPort.PowerOnDefault & ~ControllerOutputPort.A20Gate));
        Command(ControllerCommand.ReadOutputPort);

        Assert.Equal(ControllerOutputPort.PowerOnDefault & ~ControllerOutputPort.A20Gate, (ControllerOutputPort)ReadData());
        Assert.Empty(system.Stops);

        Command(ControllerCommand.EnableA20);
        Command(ControllerCommand.ReadOutputPort);
        Assert.Equal(ControllerOutputPort.PowerOnDefault, (ControllerOutputPort)ReadData());
    }

    [Fact]
    public void Keyboard_reset_answers_acknowledge_then_self_test_passed()
    {
        WriteData((byte)KeyboardCommand.Reset);

        Assert.Equal(Acknowledge, ReadData());
        Assert.Equal(0xAA, ReadData());
        Assert.True((Status() & ControllerStatus.OutputBufferFull) == 0);
    }

    [Fact]
    public void Keyboard_identify_answers_the_translated_MF2_id_when_translation_is_on()
    {
        WriteData((byte)KeyboardCommand.Identify);

        Assert.Equal(new byte[] { Acknowledge, 0xAB, 0x41 }, ReadAll());
    }

    [Fact]
    public void Keyboard_identify_answers_the_raw_MF2_id_when_translation_is_off()
    {
        Command(ControllerCommand.WriteConfiguration);
        WriteData((byte)ControllerConfiguration.KeyboardInterruptEnable);

        WriteData((byte)KeyboardCommand.Identify);

        Assert.Equal(new byte[] { Acknowledge, 0xAB, 0x83 }, ReadAll());
    }

    [Fact]
    public void Keyboard_acknowledges_set_leds_and_its_argument()
    {
        WriteData((byte)KeyboardCommand.SetLeds);
        Assert.Equal(Acknowledge, ReadData());

        WriteData(0x07);
        Assert.Equal(Acknowledge, ReadData());
    }

    [Fact]
    public void Keyboard_acknowledges_enable_scanning_and_typematic_rate()
    {
        WriteData((byte)KeyboardCommand.EnableScanning);
        WriteData((byte)KeyboardCommand.SetTypematicRateAndDelay);
        WriteData(0x20);

        Assert.Equal(new byte[] { Acknowledge, Acknowledge, Acknowledge }, ReadAll());
    }

    [Fact]
    public void Keyboard_reports_the_scan_code_set_it_was_given()
    {
        Command(ControllerCommand.WriteConfiguration);
        WriteData((byte)ControllerConfiguration.KeyboardInterruptEnable);
        WriteData((byte)KeyboardCommand.ScanCodeSet);
        WriteData(3);
        WriteData((byte)KeyboardCommand.ScanCodeSet);
        WriteData(0);

        Assert.Equal(new byte[] { Acknowledge, Acknowledge, Acknowledge, Acknowledge, 3 }, ReadAll());
    }

    [Fact]
    public void Keyboard_echo_answers_0xEE_and_unknown_commands_ask_for_a_resend()
    {
        WriteData((byte)KeyboardCommand.Echo);
        WriteData(0x01);

        Assert.Equal(new byte[] { 0xEE, 0xFE }, ReadAll());
    }

    [Fact]
    public void Keyboard_replies_wait_while_the_keyboard_interface_is_disabled()
    {
        WriteData((byte)KeyboardCommand.Identify);
        Command(ControllerCommand.DisableKeyboardInterface);

        Assert.Equal(new byte[] { Acknowledge }, ReadAll());

        Command(ControllerCommand.EnableKeyboardInterface);

        Assert.Equal(new byte[] { 0xAB, 0x41 }, ReadAll());
    }

    [Fact]
    public void Writing_to_the_keyboard_enables_the_keyboard_interface()
    {
        Command(ControllerCommand.DisableKeyboardInterface);

        WriteData((byte)KeyboardCommand.Echo);

        Assert.Equal(new byte[] { 0xEE }, ReadAll());
    }

    [Fact]
    public void Keyboard_byte_raises_IRQ1_when_the_keyboard_interrupt_is_enabled()
    {
        WriteData((byte)KeyboardCommand.EnableScanning);

        Assert.True(keyboardLine.Asserted);
        Assert.False(auxiliaryLine.Asserted);

        ReadData();

        Assert.False(keyboardLine.Asserted);
    }

    [Fact]
    public void Keyboard_byte_raises_no_interrupt_when_the_keyboard_interrupt_is_disabled()
    {
        Command(ControllerCommand.WriteConfiguration);
        WriteData((byte)ControllerConfiguration.Translate);

        WriteData((byte)KeyboardCommand.EnableScanning);

        Assert.False(keyboardLine.Asserted);
        Assert.True((Status() & ControllerStatus.OutputBufferFull) != 0);
    }

    [Fact]
    public void Auxiliary_loopback_returns_the_byte_marked_as_auxiliary_data_on_IRQ12()
    {
        Command(ControllerCommand.WriteConfiguration);
        WriteData((byte)(ControllerConfiguration.KeyboardInterruptEnable | ControllerConfiguration.AuxiliaryInterruptEnable));

        Command(ControllerCommand.WriteAuxiliaryOutputBuffer);
        WriteData(0x5A);

        Assert.True((Status() & ControllerStatus.AuxiliaryOutputBufferFull) != 0);
        Assert.True(auxiliaryLine.Asserted);
        Assert.False(keyboardLine.Asserted);
        Assert.Equal(0x5A, ReadData());
        Assert.False(auxiliaryLine.Asserted);
    }

    [Fact]
    public void Bytes_sent_to_the_absent_auxiliary_device_time_out()
    {
        Command(ControllerCommand.WriteAuxiliaryDevice);
        WriteData(0xF2);

        var status = Status();
        Assert.True((status & ControllerStatus.Timeout) != 0);
        Assert.True((status & ControllerStatus.AuxiliaryOutputBufferFull) != 0);
        Assert.Equal(0xFE, ReadData());
        Assert.True((Status() & ControllerStatus.Timeout) == 0);
    }

    [Fact]
    public void Unknown_controller_commands_are_ignored_and_logged_once()
    {
        Command((ControllerCommand)0xC8);
        Command((ControllerCommand)0xC8);

        Assert.True((Status() & ControllerStatus.OutputBufferFull) == 0);
        Assert.Single(log.Warnings);
    }

    [Fact]
    public void Data_port_reads_its_last_byte_again_when_empty()
    {
        Command(ControllerCommand.SelfTest);
        ReadData();

        Assert.Equal(0x55, ReadData());
    }

    [Fact]
    public void Controller_replies_come_before_waiting_keyboard_replies()
    {
        WriteData((byte)KeyboardCommand.Identify);
        Command(ControllerCommand.SelfTest);

        Assert.Equal(new byte[] { Acknowledge, 0x55, 0xAB, 0x41 }, ReadAll());
    }

    private ControllerStatus Status()
    {
        Span<byte> value = stackalloc byte[1];
        controller.CommandPort.Read(0, value);
        return (ControllerStatus)value[0];
    }

    private byte ReadData()
    {
        Span<byte> value = stackalloc byte[1];
        controller.DataPort.Read(0, value);
        return value[0];
    }

    private byte[] ReadAll()
    {
        var bytes = new List<byte>();
        while ((Status() & ControllerStatus.OutputBufferFull) != 0 && bytes.Count < 64)
        {
            bytes.Add(ReadData());
        }

        return [.. bytes];
    }

    [Fact]
    public void Ctrl_alt_del_arrives_as_translated_set_1_make_and_break_codes_with_irq_1()
    {
        controller.SendCtrlAltDel();

        Assert.True(keyboardLine.Asserted);
        var received = new List<byte>();
        while ((controller.ReadStatus() & (byte)ControllerStatus.OutputBufferFull) != 0)
        {
            received.Add(ReadData());
        }

        Assert.Equal([0x1D, 0x38, 0xE0, 0x53, 0xE0, 0xD3, 0xB8, 0x9D], received);
        Assert.False(keyboardLine.Asserted);
    }

    [Fact]
    public void Each_queued_byte_raises_a_fresh_interrupt_edge()
    {
        controller.SendCtrlAltDel();
        int edgesAfterFirstByte = keyboardLine.RisingEdges;

        int bytes = 0;
        while ((controller.ReadStatus() & (byte)ControllerStatus.OutputBufferFull) != 0)
        {
            ReadData();
            bytes++;
        }

        // One rising edge per byte: the first when it was queued, one more for each byte loaded after a read.
        Assert.Equal(1, edgesAfterFirstByte);
        Assert.Equal(bytes, keyboardLine.RisingEdges);
    }

    [Fact]
    public void Ctrl_alt_del_arrives_in_set_2_when_translation_is_off()
    {
        Command(ControllerCommand.WriteConfiguration);
        WriteData((byte)ControllerConfiguration.KeyboardInterruptEnable);

        controller.SendCtrlAltDel();

        var received = new List<byte>();
        while ((controller.ReadStatus() & (byte)ControllerStatus.OutputBufferFull) != 0)
        {
            received.Add(ReadData());
        }

        Assert.Equal([0x14, 0x11, 0xE0, 0x71, 0xE0, 0xF0, 0x71, 0xF0, 0x11, 0xF0, 0x14], received);
    }

    private void Command(ControllerCommand command) => controller.CommandPort.Write(0, [(byte)command]);

    private void WriteData(byte value) => controller.DataPort.Write(0, [value]);
}

using Vessel.Devices.Serial;
using Vessel.Devices.Tests.Fakes;

namespace Vessel.Devices.Tests.Serial;

public sealed class Uart16550Tests
{
    private const ulong Data = 0;
    private const ulong InterruptEnableRegister = 1;
    private const ulong InterruptIdentificationRegister = 2;
    private const ulong FifoControlRegister = 2;
    private const ulong LineControlRegister = 3;
    private const ulong ModemControlRegister = 4;
    private const ulong LineStatusRegister = 5;
    private const ulong ModemStatusRegister = 6;
    private const ulong ScratchRegister = 7;

    private const byte FifosEnabledBits = 0xC0;

    private readonly FakeInterruptLine line = new();
    private readonly FakeSerialOutput output = new();
    private readonly Uart16550 uart;

    public Uart16550Tests() => uart = new Uart16550(line, output);

    [Fact]
    public void Bytes_written_to_the_transmit_holding_register_reach_the_output()
    {
        Write(Data, (byte)'h');
        Write(Data, (byte)'i');

        Assert.Equal("hi"u8.ToArray(), output.Written);
    }

    [Fact]
    public void Line_status_after_reset_shows_an_empty_transmitter_and_no_data()
    {
        var status = (LineStatus)Read(LineStatusRegister);

        Assert.Equal(LineStatus.TransmitterHoldingRegisterEmpty | LineStatus.TransmitterEmpty, status);
        Assert.Equal((byte)InterruptIdentification.NoInterruptPending, Read(InterruptIdentificationRegister));
    }

    [Fact]
    public void Divisor_latch_is_reached_through_offsets_zero_and_one_while_DLAB_is_set()
    {
        Write(InterruptEnableRegister, (byte)InterruptEnable.ReceivedDataAvailable);
        Write(LineControlRegister, (byte)(LineControl.DivisorLatchAccess | LineControl.WordLengthMask));
        Write(Data, 0x01);
        Write(InterruptEnableRegister, 0x02);

        Assert.Equal(0x01, Read(Data));
        Assert.Equal(0x02, Read(InterruptEnableRegister));
        Assert.Empty(output.Written);

        Write(LineControlRegister, (byte)LineControl.WordLengthMask);
        Assert.Equal((byte)InterruptEnable.ReceivedDataAvailable, Read(InterruptEnableRegister));
        Assert.Equal((byte)LineControl.WordLengthMask, Read(LineControlRegister));
    }

    [Fact]
    public void Divisor_latch_defaults_to_9600_baud()
    {
        Write(LineControlRegister, (byte)LineControl.DivisorLatchAccess);

        Assert.Equal(12, Read(Data));
        Assert.Equal(0, Read(InterruptEnableRegister));
    }

    [Fact]
    public void Scratch_register_keeps_what_was_written()
    {
        Write(ScratchRegister, 0xA5);

        Assert.Equal(0xA5, Read(ScratchRegister));
    }

    [Fact]
    public void Interrupt_enable_keeps_only_the_four_defined_bits()
    {
        Write(InterruptEnableRegister, 0xFF);

        Assert.Equal(0x0F, Read(InterruptEnableRegister));
    }

    [Fact]
    public void Modem_control_keeps_only_the_five_defined_bits()
    {
        Write(ModemControlRegister, 0xFF);

        Assert.Equal(0x1F, Read(ModemControlRegister));
    }

    [Fact]
    public void Loopback_returns_transmitted_bytes_to_the_receiver_instead_of_the_output()
    {
        Write(ModemControlRegister, (byte)ModemControl.Loopback);
        Write(Data, 0x42);

        Assert.Empty(output.Written);
        Assert.True(((LineStatus)Read(LineStatusRegister) & LineStatus.DataReady) != 0);
        Assert.Equal(0x42, Read(Data));
        Assert.True(((LineStatus)Read(LineStatusRegister) & LineStatus.DataReady) == 0);
    }

    [Fact]
    public void Loopback_reflects_modem_control_outputs_into_modem_status_inputs()
    {
        // Linux's 8250 autoconfig writes LOOP | OUT2 | RTS and expects MSR bits 4-7 to read 0x90 (DCD | CTS).
        Write(ModemControlRegister, (byte)(ModemControl.Loopback | ModemControl.Out2 | ModemControl.RequestToSend));
        Assert.Equal(0x90, Read(ModemStatusRegister) & 0xF0);

        Write(ModemControlRegister, (byte)(ModemControl.Loopback | ModemControl.DataTerminalReady | ModemControl.Out1));
        Assert.Equal(
            (byte)(ModemStatus.DataSetReady | ModemStatus.RingIndicator),
            Read(ModemStatusRegister) & 0xF0);
    }

    [Fact]
    public void Modem_status_reports_a_connected_peer_outside_loopback()
    {
        var status = (ModemStatus)Read(ModemStatusRegister);

        Assert.Equal(ModemStatus.ClearToSend | ModemStatus.DataSetReady | ModemStatus.DataCarrierDetect, status);
    }

    [Fact]
    public void Modem_status_delta_bits_record_changes_until_read()
    {
        Write(ModemControlRegister, (byte)(ModemControl.Loopback | ModemControl.RequestToSend | ModemControl.Out1));
        Read(ModemStatusRegister);

        // RTS off flips CTS; OUT1 off is RI's trailing edge; DTR on raises DSR.
        Write(ModemControlRegister, (byte)(ModemControl.Loopback | ModemControl.DataTerminalReady));
        var status = (ModemStatus)Read(ModemStatusRegister);

        Assert.Equal(
            ModemStatus.DeltaClearToSend | ModemStatus.DeltaDataSetReady | ModemStatus.TrailingEdgeRingIndicator | ModemStatus.DataSetReady,
            status);
        Assert.Equal(ModemStatus.DataSetReady, (ModemStatus)Read(ModemStatusRegister));
    }

    [Fact]
    public void Ring_indicator_rising_edge_sets_no_delta_bit()
    {
        Write(ModemControlRegister, (byte)ModemControl.Loopback);
        Read(ModemStatusRegister);
        Write(ModemControlRegister, (byte)(ModemControl.Loopback | ModemControl.Out1));

        Assert.Equal(ModemStatus.RingIndicator, (ModemStatus)Read(ModemStatusRegister));
    }

    [Fact]
    public void Modem_status_interrupt_is_reported_last_and_cleared_by_reading_MSR()
    {
        Write(ModemControlRegister, (byte)(ModemControl.Loopback | ModemControl.Out2));
        Read(ModemStatusRegister);
        Write(InterruptEnableRegister, (byte)InterruptEnable.ModemStatus);
        Write(ModemControlRegister, (byte)(ModemControl.Loopback | ModemControl.Out2 | ModemControl.RequestToSend));

        Assert.Equal((byte)InterruptIdentification.ModemStatus, Read(InterruptIdentificationRegister));
        Assert.True(line.Asserted);

        Read(ModemStatusRegister);

        Assert.Equal((byte)InterruptIdentification.NoInterruptPending, Read(InterruptIdentificationRegister));
        Assert.False(line.Asserted);
    }

    [Fact]
    public void Interrupt_identification_shows_fifos_enabled_bits_when_FCR0_is_set()
    {
        Write(FifoControlRegister, (byte)FifoControl.FifoEnable);

        Assert.Equal(FifosEnabledBits | (byte)InterruptIdentification.NoInterruptPending, Read(InterruptIdentificationRegister));

        Write(FifoControlRegister, 0);

        Assert.Equal((byte)InterruptIdentification.NoInterruptPending, Read(InterruptIdentificationRegister));
    }

    [Fact]
    public void Without_fifos_a_second_byte_overruns_the_receiver_buffer()
    {
        Write(ModemControlRegister, (byte)ModemControl.Loopback);
        Write(Data, 1);
        Write(Data, 2);

        var status = (LineStatus)Read(LineStatusRegister);

        Assert.True((status & LineStatus.OverrunError) != 0);
        Assert.Equal(1, Read(Data));
    }

    [Fact]
    public void Receive_fifo_holds_sixteen_bytes_and_the_seventeenth_sets_overrun()
    {
        Write(FifoControlRegister, (byte)FifoControl.FifoEnable);
        Write(ModemControlRegister, (byte)ModemControl.Loopback);
        for (byte i = 0; i < Uart16550.FifoCapacity; i++)
        {
            Write(Data, i);
        }

        Assert.True(((LineStatus)Read(LineStatusRegister) & LineStatus.OverrunError) == 0);

        Write(Data, 0xEE);

        var status = (LineStatus)Read(LineStatusRegister);
        Assert.True((status & LineStatus.OverrunError) != 0);
        Assert.True(((LineStatus)Read(LineStatusRegister) & LineStatus.OverrunError) == 0, "reading LSR clears OE");
        for (byte i = 0; i < Uart16550.FifoCapacity; i++)
        {
            Assert.Equal(i, Read(Data));
        }

        Assert.True(((LineStatus)Read(LineStatusRegister) & LineStatus.DataReady) == 0);
    }

    [Fact]
    public void Overrun_raises_the_line_status_interrupt_until_LSR_is_read()
    {
        Write(ModemControlRegister, (byte)(ModemControl.Loopback | ModemControl.Out2));
        Write(InterruptEnableRegister, (byte)InterruptEnable.ReceiverLineStatus);
        Write(Data, 1);
        Write(Data, 2);

        Assert.Equal((byte)InterruptIdentification.ReceiverLineStatus, Read(InterruptIdentificationRegister));
        Assert.True(line.Asserted);

        Read(LineStatusRegister);

        Assert.Equal((byte)InterruptIdentification.NoInterruptPending, Read(InterruptIdentificationRegister));
        Assert.False(line.Asserted);
    }

    [Fact]
    public void Clearing_the_receive_fifo_discards_its_bytes()
    {
        Write(FifoControlRegister, (byte)FifoControl.FifoEnable);
        uart.EnqueueInput("abc"u8);

        Write(FifoControlRegister, (byte)(FifoControl.FifoEnable | FifoControl.ClearReceiveFifo));

        Assert.True(((LineStatus)Read(LineStatusRegister) & LineStatus.DataReady) == 0);
    }

    [Fact]
    public void Receive_fifo_clear_bit_does_not_stay_set()
    {
        Write(FifoControlRegister, (byte)(FifoControl.FifoEnable | FifoControl.ClearReceiveFifo));
        uart.EnqueueInput("a"u8);

        Assert.Equal((byte)'a', Read(Data));
    }

    [Fact]
    public void Received_data_interrupt_waits_for_the_trigger_level_and_reports_a_timeout_below_it()
    {
        const FifoControl TriggerAtFourBytes = (FifoControl)0x40;
        Write(FifoControlRegister, (byte)(FifoControl.FifoEnable | TriggerAtFourBytes));
        Write(InterruptEnableRegister, (byte)InterruptEnable.ReceivedDataAvailable);

        uart.EnqueueInput("abc"u8);
        Assert.Equal(FifosEnabledBits | (byte)InterruptIdentification.CharacterTimeout, Read(InterruptIdentificationRegister));

        uart.EnqueueInput("d"u8);
        Assert.Equal(FifosEnabledBits | (byte)InterruptIdentification.ReceivedDataAvailable, Read(InterruptIdentificationRegister));

        Read(Data);
        Assert.Equal(FifosEnabledBits | (byte)InterruptIdentification.CharacterTimeout, Read(InterruptIdentificationRegister));
    }

    [Fact]
    public void Received_data_interrupt_clears_when_the_guest_drains_the_receiver()
    {
        Write(ModemControlRegister, (byte)ModemControl.Out2);
        Write(InterruptEnableRegister, (byte)InterruptEnable.ReceivedDataAvailable);

        uart.EnqueueInput("x"u8);
        Assert.True(line.Asserted);
        Assert.Equal((byte)InterruptIdentification.ReceivedDataAvailable, Read(InterruptIdentificationRegister));

        Assert.Equal((byte)'x', Read(Data));
        Assert.False(line.Asserted);
    }

    [Fact]
    public void Interrupt_identification_reports_sources_in_priority_order()
    {
        Write(ModemControlRegister, (byte)(ModemControl.Loopback | ModemControl.Out2));
        Write(Data, 1);
        Write(Data, 2);
        Write(ModemControlRegister, (byte)(ModemControl.Loopback | ModemControl.Out2 | ModemControl.RequestToSend));
        Write(InterruptEnableRegister, (byte)InterruptEnable.All);

        Assert.Equal((byte)InterruptIdentification.ReceiverLineStatus, Read(InterruptIdentificationRegister));
        Read(LineStatusRegister);
        Assert.Equal((byte)InterruptIdentification.ReceivedDataAvailable, Read(InterruptIdentificationRegister));
        Read(Data);
        Assert.Equal((byte)InterruptIdentification.TransmitterHoldingRegisterEmpty, Read(InterruptIdentificationRegister));
        Assert.Equal((byte)InterruptIdentification.ModemStatus, Read(InterruptIdentificationRegister));
        Read(ModemStatusRegister);
        Assert.Equal((byte)InterruptIdentification.NoInterruptPending, Read(InterruptIdentificationRegister));
        Assert.False(line.Asserted);
    }

    [Fact]
    public void Transmit_holding_register_empty_interrupt_fires_after_a_write()
    {
        Write(ModemControlRegister, (byte)ModemControl.Out2);
        Write(InterruptEnableRegister, (byte)InterruptEnable.TransmitterHoldingRegisterEmpty);
        Read(InterruptIdentificationRegister);
        Assert.False(line.Asserted);

        Write(Data, (byte)'a');

        Assert.True(line.Asserted);
        Assert.Equal((byte)InterruptIdentification.TransmitterHoldingRegisterEmpty, Read(InterruptIdentificationRegister));
    }

    [Fact]
    public void Transmit_holding_register_empty_interrupt_clears_when_IIR_reports_it()
    {
        Write(ModemControlRegister, (byte)ModemControl.Out2);
        Write(InterruptEnableRegister, (byte)InterruptEnable.TransmitterHoldingRegisterEmpty);
        Assert.True(line.Asserted);

        Assert.Equal((byte)InterruptIdentification.TransmitterHoldingRegisterEmpty, Read(InterruptIdentificationRegister));

        Assert.False(line.Asserted);
        Assert.Equal((byte)InterruptIdentification.NoInterruptPending, Read(InterruptIdentificationRegister));
    }

    [Fact]
    public void Transmit_holding_register_empty_interrupt_survives_an_IIR_read_that_reports_a_higher_source()
    {
        Write(ModemControlRegister, (byte)ModemControl.Out2);
        Write(InterruptEnableRegister, (byte)(InterruptEnable.TransmitterHoldingRegisterEmpty | InterruptEnable.ReceivedDataAvailable));
        uart.EnqueueInput("x"u8);

        Assert.Equal((byte)InterruptIdentification.ReceivedDataAvailable, Read(InterruptIdentificationRegister));
        Read(Data);

        Assert.Equal((byte)InterruptIdentification.TransmitterHoldingRegisterEmpty, Read(InterruptIdentificationRegister));
    }

    [Fact]
    public void Enabling_the_transmit_interrupt_while_the_holding_register_is_empty_raises_it_again()
    {
        // Linux's UART_BUG_THRE probe: enable, read IIR, disable, enable, and expect THRE to be reported both times.
        Write(InterruptEnableRegister, (byte)InterruptEnable.TransmitterHoldingRegisterEmpty);
        Assert.Equal((byte)InterruptIdentification.TransmitterHoldingRegisterEmpty, Read(InterruptIdentificationRegister));
        Write(InterruptEnableRegister, 0);
        Write(InterruptEnableRegister, (byte)InterruptEnable.TransmitterHoldingRegisterEmpty);

        Assert.Equal((byte)InterruptIdentification.TransmitterHoldingRegisterEmpty, Read(InterruptIdentificationRegister));
    }

    [Fact]
    public void Interrupt_line_stays_low_until_OUT2_is_set()
    {
        Write(InterruptEnableRegister, (byte)InterruptEnable.ReceivedDataAvailable);
        uart.EnqueueInput("x"u8);

        Assert.False(line.Asserted);
        Assert.Equal((byte)InterruptIdentification.ReceivedDataAvailable, Read(InterruptIdentificationRegister));

        Write(ModemControlRegister, (byte)ModemControl.Out2);
        Assert.True(line.Asserted);

        Write(ModemControlRegister, 0);
        Assert.False(line.Asserted);
    }

    [Fact]
    public void Interrupt_line_rises_once_per_pending_episode()
    {
        Write(ModemControlRegister, (byte)ModemControl.Out2);
        Write(InterruptEnableRegister, (byte)InterruptEnable.ReceivedDataAvailable);

        uart.EnqueueInput("a"u8);
        uart.EnqueueInput("b"u8);
        Read(Data);
        Read(Data);
        uart.EnqueueInput("c"u8);

        Assert.Equal(2, line.RisingEdges);
    }

    [Fact]
    public void Input_beyond_the_fifo_waits_in_the_backlog_and_arrives_in_order()
    {
        Write(FifoControlRegister, (byte)FifoControl.FifoEnable);
        var pasted = new byte[1000];
        for (int i = 0; i < pasted.Length; i++)
        {
            pasted[i] = (byte)i;
        }

        uart.EnqueueInput(pasted);

        for (int i = 0; i < pasted.Length; i++)
        {
            Assert.True(((LineStatus)Read(LineStatusRegister) & LineStatus.DataReady) != 0);
            Assert.Equal((byte)i, Read(Data));
        }

        var status = (LineStatus)Read(LineStatusRegister);
        Assert.Equal(LineStatus.None, status & (LineStatus.DataReady | LineStatus.OverrunError));
    }

    [Fact]
    public void Input_past_the_backlog_bound_is_dropped_and_reported_as_overrun()
    {
        uart.EnqueueInput(new byte[Uart16550.InputBacklogCapacity + 10]);

        Assert.True(((LineStatus)Read(LineStatusRegister) & LineStatus.OverrunError) != 0);

        int received = 0;
        while (((LineStatus)Read(LineStatusRegister) & LineStatus.DataReady) != 0)
        {
            Read(Data);
            received++;
        }

        Assert.Equal(Uart16550.InputBacklogCapacity, received);
    }

    [Fact]
    public void Host_input_waits_during_loopback_and_arrives_after_it()
    {
        Write(ModemControlRegister, (byte)ModemControl.Loopback);
        uart.EnqueueInput("k"u8);

        Assert.True(((LineStatus)Read(LineStatusRegister) & LineStatus.DataReady) == 0);

        Write(ModemControlRegister, 0);

        Assert.Equal((byte)'k', Read(Data));
    }

    [Fact]
    public async Task Input_enqueued_from_another_thread_is_received_whole()
    {
        Write(FifoControlRegister, (byte)FifoControl.FifoEnable);
        var typed = new byte[4096];
        Random.Shared.NextBytes(typed);

        var writer = Task.Run(() =>
        {
            for (int i = 0; i < typed.Length; i += 64)
            {
                uart.EnqueueInput(typed.AsSpan(i, 64));
            }
        });

        var received = new List<byte>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (received.Count < typed.Length && DateTime.UtcNow < deadline)
        {
            if (((LineStatus)Read(LineStatusRegister) & LineStatus.DataReady) != 0)
            {
                received.Add(Read(Data));
            }
        }

        await writer.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(typed, received);
    }

    [Fact]
    public void Word_access_reads_consecutive_registers()
    {
        Write(LineControlRegister, 0x03);
        Write(ModemControlRegister, (byte)ModemControl.Out2);
        Span<byte> pair = stackalloc byte[2];

        uart.Read(LineControlRegister, pair);

        Assert.Equal(0x03, pair[0]);
        Assert.Equal((byte)ModemControl.Out2, pair[1]);
    }

    [Fact]
    public void Access_past_the_last_register_reads_all_ones()
    {
        Span<byte> pair = stackalloc byte[2];

        uart.Read(ScratchRegister, pair);

        Assert.Equal(0xFF, pair[1]);
    }

    [Fact]
    public void Writes_to_line_and_modem_status_change_nothing()
    {
        byte lineStatus = Read(LineStatusRegister);
        byte modemStatus = Read(ModemStatusRegister);

        Write(LineStatusRegister, 0xFF);
        Write(ModemStatusRegister, 0x00);

        Assert.Equal(lineStatus, Read(LineStatusRegister));
        Assert.Equal(modemStatus, Read(ModemStatusRegister));
    }

    private byte Read(ulong offset)
    {
        Span<byte> value = stackalloc byte[1];
        uart.Read(offset, value);
        return value[0];
    }

    private void Write(ulong offset, byte value) => uart.Write(offset, [value]);
}

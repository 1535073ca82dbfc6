using Vessel.Core.Bus;
using Vessel.Core.Snapshots;
using Vessel.Core.Time;
using Vessel.Devices.Clock;
using Vessel.Devices.Keyboard;
using Vessel.Devices.Pci;
using Vessel.Devices.Power;
using Vessel.Devices.Serial;
using Vessel.Devices.Tests.Fakes;
using Vessel.Devices.Tests.Pci;

namespace Vessel.Devices.Tests.Snapshots;

public sealed class LegacyDeviceStateTests
{
    private const ulong UartData = 0;
    private const ulong UartInterruptEnable = 1;
    private const ulong UartFifoControl = 2;
    private const ulong UartLineControl = 3;
    private const ulong UartModemControl = 4;
    private const ulong UartLineStatus = 5;
    private const ulong UartScratch = 7;

    [Fact]
    public void A_uart_restored_from_its_state_saves_the_same_bytes_and_delivers_the_queued_input()
    {
        var uart = BusyUart(out _);
        byte[] saved = StateRoundTrip.Save(uart);

        var restored = new Uart16550(new FakeInterruptLine(), new FakeSerialOutput());
        StateRoundTrip.AssertSameAfterRestore(saved, restored);

        Assert.Equal(0x5A, ReadByte(restored, UartScratch));
        Assert.Equal((byte)'h', ReadByte(restored, UartData));
        Assert.Equal((byte)'i', ReadByte(restored, UartData));
        Assert.Equal(0x5A, ReadByte(restored, UartScratch));
    }

    [Fact]
    public void A_truncated_uart_state_is_refused()
    {
        byte[] saved = StateRoundTrip.Save(BusyUart(out _));

        StateRoundTrip.AssertTruncationRefused(saved, () => new Uart16550(new FakeInterruptLine(), new FakeSerialOutput()));
    }

    [Fact]
    public void A_uart_state_with_more_bytes_in_the_receive_fifo_than_it_holds_is_refused()
    {
        var writer = new StateWriter();
        using (writer.BeginSection(StateRoundTrip.SectionName, 1))
        {
            writer.WriteRaw(new byte[11]);
            writer.WriteBytes(new byte[Uart16550.FifoCapacity + 1]);
            writer.WriteBytes([]);
        }

        var uart = new Uart16550(new FakeInterruptLine(), new FakeSerialOutput());
        var exception = Assert.Throws<SnapshotFormatException>(() => StateRoundTrip.Restore(uart, writer.ToArray()));
        Assert.Contains("receive FIFO", exception.Message);
    }

    [Fact]
    public void Restoring_a_uart_whose_line_was_high_records_it_without_driving_the_line_again()
    {
        var uart = BusyUart(out var line);
        Assert.True(line.Asserted);
        byte[] saved = StateRoundTrip.Save(uart);

        var restoredLine = new FakeInterruptLine();
        var restored = new Uart16550(restoredLine, new FakeSerialOutput());
        StateRoundTrip.Restore(restored, saved);
        Assert.Equal(0, restoredLine.RisingEdges);

        // Draining the input lowers the line the restored device believes is high.
        restoredLine.SetLevel(true);
        ReadByte(restored, UartData);
        ReadByte(restored, UartData);
        ReadByte(restored, 2);
        Assert.False(restoredLine.Asserted);
    }

    [Fact]
    public void An_i8042_restored_from_its_state_saves_the_same_bytes_and_answers_where_it_left_off()
    {
        var controller = BusyController();
        byte[] saved = StateRoundTrip.Save(controller);

        var restored = new I8042Controller(new FakeInterruptLine(), new FakeInterruptLine(), new FakeSystemControl(), new RecordingMachineLog());
        StateRoundTrip.AssertSameAfterRestore(saved, restored);

        Assert.Equal(0x55, restored.ReadData());
        Assert.Equal(0x00, restored.ReadData());

        // The configuration byte the guest wrote before the snapshot reads back.
        restored.WriteCommand((byte)ControllerCommand.ReadConfiguration);
        Assert.Equal(0x47, restored.ReadData());
    }

    [Fact]
    public void A_truncated_i8042_state_is_refused()
    {
        byte[] saved = StateRoundTrip.Save(BusyController());

        StateRoundTrip.AssertTruncationRefused(saved, () => new I8042Controller(new FakeInterruptLine(), new FakeInterruptLine(), new FakeSystemControl(), new RecordingMachineLog()));
    }

    [Fact]
    public void An_rtc_restored_from_its_state_saves_the_same_bytes_and_keeps_the_time_the_guest_set()
    {
        var start = new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
        var clock = PausedClock(start);
        using var rtc = new CmosRtc(new FakeInterruptLine(), 512UL << 20, 0, clock);
        SetRtcYear(rtc, 0x01);
        WriteCmos(rtc, 0x30, 0x99);
        byte[] saved = StateRoundTrip.Save(rtc);

        using var restored = new CmosRtc(new FakeInterruptLine(), 512UL << 20, 0, PausedClock(start));
        StateRoundTrip.AssertSameAfterRestore(saved, restored);

        Assert.Equal(2001, restored.GuestTime.Year);
        Assert.Equal(0x99, ReadCmos(restored, 0x30));
    }

    [Fact]
    public void An_rtc_restored_later_shows_the_hosts_new_wall_clock_time()
    {
        var taken = new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
        using var rtc = new CmosRtc(new FakeInterruptLine(), 512UL << 20, 0, PausedClock(taken));
        byte[] saved = StateRoundTrip.Save(rtc);

        var dayLater = taken.AddDays(1);
        using var restored = new CmosRtc(new FakeInterruptLine(), 512UL << 20, 0, PausedClock(dayLater));
        StateRoundTrip.Restore(restored, saved);

        Assert.Equal(dayLater.UtcDateTime, restored.GuestTime, TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void A_truncated_rtc_state_is_refused()
    {
        var clock = PausedClock(DateTimeOffset.UnixEpoch.AddYears(50));
        using var rtc = new CmosRtc(new FakeInterruptLine(), 512UL << 20, 0, clock);
        byte[] saved = StateRoundTrip.Save(rtc);

        var fresh = new List<CmosRtc>();
        StateRoundTrip.AssertTruncationRefused(saved, () =>
        {
            var device = new CmosRtc(new FakeInterruptLine(), 512UL << 20, 0, clock);
            fresh.Add(device);
            return device;
        });
        fresh.ForEach(device => device.Dispose());
    }

    [Fact]
    public void A_pci_function_restored_from_its_state_saves_the_same_bytes_and_decodes_its_bars_where_the_guest_put_them()
    {
        var log = new RecordingMachineLog();
        var mmio = new MmioBus(log);
        var ports = new IoPortBus(log);
        var root = new PciRootComplex(mmio, ports, log);
        var function = new TestPciFunction();
        root.Attach(3, function);
        function.WriteConfiguration(PciConfigurationRegister.BaseAddress0, BitConverter.GetBytes(0xE000_0000u));
        function.WriteConfiguration(PciConfigurationRegister.Command, BitConverter.GetBytes((ushort)(PciCommand.MemorySpace | PciCommand.BusMaster)));
        function.WriteConfiguration(PciConfigurationRegister.InterruptLine, [11]);
        root.AddressPort.Write(0, BitConverter.GetBytes(0x8000_1810u));
        byte[] savedFunction = StateRoundTrip.Save(function);
        byte[] savedRoot = StateRoundTrip.Save(root);

        var restoredMmio = new MmioBus(log);
        var restoredRoot = new PciRootComplex(restoredMmio, new IoPortBus(log), log);
        var restored = new TestPciFunction();
        restoredRoot.Attach(3, restored);
        StateRoundTrip.AssertSameAfterRestore(savedFunction, restored);
        StateRoundTrip.AssertSameAfterRestore(savedRoot, restoredRoot);

        Assert.Equal(0xE000_0000UL, restored.Memory32.MappedAddress);
        Span<byte> value = stackalloc byte[1];
        restoredMmio.Read(0xE000_0010, value);
        Assert.Equal(0xA1, value[0]);
    }

    [Fact]
    public void A_pci_function_refuses_the_state_of_a_different_device()
    {
        var other = new OtherPciFunction();
        byte[] saved = StateRoundTrip.Save(other);

        var exception = Assert.Throws<SnapshotFormatException>(() => StateRoundTrip.Restore(new TestPciFunction(), saved));
        Assert.Contains("different device", exception.Message);
    }

    [Fact]
    public void A_truncated_pci_function_state_is_refused()
    {
        byte[] saved = StateRoundTrip.Save(new TestPciFunction());

        StateRoundTrip.AssertTruncationRefused(saved, () => new TestPciFunction());
    }

    [Fact]
    public void Acpi_pm_registers_the_guest_wrote_survive_a_restore_byte_for_byte()
    {
        var power = new PowerManagementDevice(new FakeInterruptLine(), new FakeSystemControl(), new RecordingMachineLog());
        power.Write(PowerManagementDevice.EnableOffset, [0x21, 0x01]);
        byte[] saved = StateRoundTrip.Save(power);

        var restored = new PowerManagementDevice(new FakeInterruptLine(), new FakeSystemControl(), new RecordingMachineLog());
        StateRoundTrip.AssertSameAfterRestore(saved, restored);

        Span<byte> enable = stackalloc byte[2];
        restored.Read(PowerManagementDevice.EnableOffset, enable);
        Assert.Equal([0x21, 0x01], enable.ToArray());
        StateRoundTrip.AssertTruncationRefused(saved, () => new PowerManagementDevice(new FakeInterruptLine(), new FakeSystemControl(), new RecordingMachineLog()));
    }

    private static VmClock PausedClock(DateTimeOffset wallClock)
    {
        var clock = new VmClock(wallClock);
        clock.Pause();
        return clock;
    }

    private static Uart16550 BusyUart(out FakeInterruptLine line)
    {
        line = new FakeInterruptLine();
        var uart = new Uart16550(line, new FakeSerialOutput());
        WriteByte(uart, UartLineControl, 0x80);
        WriteByte(uart, UartData, 0x01);
        WriteByte(uart, UartLineControl, 0x03);
        WriteByte(uart, UartFifoControl, 0xC7);
        WriteByte(uart, UartModemControl, 0x0B);
        WriteByte(uart, UartInterruptEnable, 0x01);
        WriteByte(uart, UartScratch, 0x5A);
        uart.EnqueueInput("hi"u8);
        _ = ReadByte(uart, UartLineStatus);
        return uart;
    }

    private static I8042Controller BusyController()
    {
        var controller = new I8042Controller(new FakeInterruptLine(), new FakeInterruptLine(), new FakeSystemControl(), new RecordingMachineLog());
        controller.WriteCommand((byte)ControllerCommand.WriteConfiguration);
        controller.WriteData(0x47);
        controller.WriteCommand((byte)ControllerCommand.SelfTest);
        controller.WriteCommand((byte)ControllerCommand.KeyboardInterfaceTest);
        return controller;
    }

    private static void SetRtcYear(CmosRtc rtc, byte year)
    {
        WriteCmos(rtc, RtcRegister.StatusB, (byte)(RtcStatus.Set | RtcStatus.TwentyFourHour));
        WriteCmos(rtc, RtcRegister.Year, year);
        WriteCmos(rtc, RtcRegister.StatusB, RtcStatus.TwentyFourHour);
    }

    private static void WriteCmos(CmosRtc rtc, int register, byte value)
    {
        rtc.Write(0, [(byte)register]);
        rtc.Write(1, [value]);
    }

    private static byte ReadCmos(CmosRtc rtc, int register)
    {
        rtc.Write(0, [(byte)register]);
        Span<byte> value = stackalloc byte[1];
        rtc.Read(1, value);
        return value[0];
    }

    private static void WriteByte(IBusDevice device, ulong offset, byte value) => device.Write(offset, [value]);

    private static byte ReadByte(IBusDevice device, ulong offset)
    {
        Span<byte> value = stackalloc byte[1];
        device.Read(offset, value);
        return value[0];
    }

    private sealed class OtherPciFunction() : PciFunction(new PciFunctionIdentity(VendorId: 0x1234, DeviceId: 0x9999, BaseClass: 0xFF, SubClass: 0x00));
}

using Vessel.X86.Tests.Apic;

namespace Vessel.X86.Tests.IrqChip;

public class IoApicTests
{
    private static uint ReadIndirect(SoftwareVm vm, uint register)
    {
        vm.IoApic.Write(0x00, BitConverter.GetBytes(register));
        Span<byte> value = stackalloc byte[4];
        vm.IoApic.Read(0x10, value);
        return BitConverter.ToUInt32(value);
    }

    private static void WriteIndirect(SoftwareVm vm, uint register, uint value)
    {
        vm.IoApic.Write(0x00, BitConverter.GetBytes(register));
        vm.IoApic.Write(0x10, BitConverter.GetBytes(value));
    }

    [Fact]
    public void Version_is_0x170011_and_every_pin_starts_masked()
    {
        using var machine = new ApicTestMachine(1);

        Assert.Equal(0x0017_0011u, ReadIndirect(machine.Vm, 0x01));
        for (uint pin = 0; pin < 24; pin++)
        {
            Assert.Equal(0x0001_0000u, ReadIndirect(machine.Vm, 0x10 + (pin * 2)));
        }
    }

    [Fact]
    public void An_edge_pin_delivers_once_per_rising_edge()
    {
        using var machine = new ApicTestMachine(1);
        machine.Apic(0).WriteRegister(0xF0, 0x1FF);
        WriteIndirect(machine.Vm, 0x10 + (5 * 2), 0x45);

        machine.Vm.SetIrqLine(5, true);
        Assert.True(machine.Apic(0).TryAcknowledge(out int vector));
        Assert.Equal(0x45, vector);
        machine.Apic(0).WriteRegister(0xB0, 0);

        machine.Vm.SetIrqLine(5, true);
        Assert.False(machine.Apic(0).RequestPending(0x45));
    }

    [Fact]
    public void A_level_pin_holds_remote_irr_until_eoi_then_redelivers_while_the_line_is_high()
    {
        using var machine = new ApicTestMachine(1);
        var apic = machine.Apic(0);
        apic.WriteRegister(0xF0, 0x1FF);
        WriteIndirect(machine.Vm, 0x10 + (9 * 2), 0x8000 | 0x49);

        machine.Vm.SetIrqLine(9, true);
        Assert.True(apic.TryAcknowledge(out _));
        Assert.NotEqual(0u, ReadIndirect(machine.Vm, 0x10 + (9 * 2)) & (1u << 14));

        apic.WriteRegister(0xB0, 0);
        Assert.True(apic.RequestPending(0x49));

        machine.Vm.SetIrqLine(9, false);
        Assert.True(apic.TryAcknowledge(out _));
        apic.WriteRegister(0xB0, 0);
        Assert.Equal(0u, ReadIndirect(machine.Vm, 0x10 + (9 * 2)) & (1u << 14));
        Assert.False(apic.RequestPending(0x49));
    }

    [Fact]
    public void A_masked_pin_does_not_deliver_and_msis_reach_the_apic_they_name()
    {
        using var machine = new ApicTestMachine(2);
        machine.Apic(1).WriteRegister(0xF0, 0x1FF);
        WriteIndirect(machine.Vm, 0x10 + (3 * 2), 0x1_0043);

        machine.Vm.SetIrqLine(3, true);
        machine.Vm.SendMsi(0xFEE0_1000, 0x4A);

        Assert.False(machine.Apic(0).RequestPending(0x43));
        Assert.True(machine.Apic(1).RequestPending(0x4A));
    }
}

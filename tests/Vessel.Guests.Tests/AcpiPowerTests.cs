using System.Text;
using Vessel.Core.Interrupts;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.Guests.Tests;

/// <summary>The machine's ACPI side as a guest meets it: the RSDP in the BIOS area and the fixed PM registers on their ports.</summary>
public sealed class AcpiPowerTests
{
    [Fact]
    public void Writing_slp_en_with_the_s5_sleep_type_to_pm1a_control_powers_off_with_status_0()
    {
        var (stop, _) = BareMetalGuest.Run(a =>
        {
            // SLP_TYP 5 (the DSDT's \_S5) in bits 12:10, then with SLP_EN (bit 13), as Linux's acpi_hw_legacy_sleep does.
            a.mov(dx, 0x604);
            a.mov(ax, 5 << 10);
            a.@out(dx, ax);
            a.mov(ax, (5 << 10) | (1 << 13));
            a.@out(dx, ax);
            a.mov(al, 0x7F);
            a.@out(0xF4, al);
            a.hlt();
        });

        Assert.Equal(MachineStopReason.PowerOff, stop.Reason);
        Assert.Equal(0, stop.ExitStatus);
    }

    [Fact]
    public void Writing_the_reset_value_to_the_fadt_reset_register_ends_the_machine_as_a_reset()
    {
        var (stop, _) = BareMetalGuest.Run(a =>
        {
            a.mov(dx, 0x606);
            a.mov(al, 1);
            a.@out(dx, al);
            a.mov(al, 0x7F);
            a.@out(0xF4, al);
            a.hlt();
        });

        Assert.Equal(MachineStopReason.Reset, stop.Reason);
        Assert.Equal(0, stop.ExitStatus);
    }

    [Fact]
    public void The_guest_finds_the_rsdp_signature_at_0xe0000()
    {
        var (stop, console) = BareMetalGuest.Run(a =>
        {
            // Print the 8 signature bytes of the RSDP on COM1, then exit through the debug port.
            a.mov(esi, 0xE0000);
            a.mov(ecx, 8);
            a.mov(dx, 0x3F8);
            var next = a.CreateLabel();
            a.Label(ref next);
            a.mov(al, __byte_ptr[rsi]);
            a.@out(dx, al);
            a.inc(rsi);
            a.dec(ecx);
            a.jnz(next);
            a.mov(al, 0);
            a.@out(0xF4, al);
            a.hlt();
        });

        Assert.Equal(MachineStopReason.DebugExit, stop.Reason);
        Assert.Equal("RSD PTR ", console);
    }
}

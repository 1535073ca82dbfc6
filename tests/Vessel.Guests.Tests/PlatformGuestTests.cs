using Iced.Intel;
using Vessel.Core.Interrupts;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.Guests.Tests;

/// <summary>The interrupt chips, SMP start-up, RTC and fw_cfg seen by bare-metal guests booted through the machine builder.</summary>
public class PlatformGuestTests
{
    private static int DebugExitStatus(int value) => ((value << 1) | 1) & 0xFF;

    [Fact]
    public void Four_vcpus_start_with_init_and_startup_ipis_and_each_application_processor_counts_in_real_mode()
    {
        const ushort counter = 0x3000;
        const int trampolineVector = 0x10;
        var ap = new Assembler(16);
        var halt = ap.CreateLabel();
        ap.cli();
        ap.@lock.inc(__word_ptr[counter]);
        ap.Label(ref halt);
        ap.hlt();
        ap.jmp(halt);
        var trampoline = new MemoryStream();
        ap.Assemble(new StreamCodeWriter(trampoline), (ulong)trampolineVector << 12);

        var (stop, _) = BareMetalGuest.Run(a =>
        {
            var wait = a.CreateLabel();
            PlatformGuest.MapApicWindows(a);
            byte[] code = trampoline.ToArray();
            for (int i = 0; i < code.Length; i++)
            {
                a.mov(__byte_ptr[((ulong)trampolineVector << 12) + (ulong)i], code[i]);
            }

            PlatformGuest.EnableApic(a);

            // SDM 3A §9.4.4.1: INIT, then STARTUP twice, to all but self.
            a.mov(__dword_ptr[rdi + 0x310], 0);
            a.mov(__dword_ptr[rdi + 0x300], 0x000C_4500);
            a.mov(__dword_ptr[rdi + 0x300], 0x000C_4600 | trampolineVector);
            a.mov(__dword_ptr[rdi + 0x300], 0x000C_4600 | trampolineVector);
            a.Label(ref wait);
            a.pause();
            a.cmp(__word_ptr[counter], 3);
            a.jne(wait);
            a.mov(al, 0x33);
            a.@out(0xF4, al);
            a.hlt();
        }, vcpus: 4);

        Assert.Equal(MachineStopReason.DebugExit, stop.Reason);
        Assert.Equal(DebugExitStatus(0x33), stop.ExitStatus);
    }

    [Fact]
    public void The_uart_transmitter_empty_interrupt_reaches_the_local_apic_through_ioapic_pin_4()
    {
        var (stop, _) = BareMetalGuest.Run(a =>
        {
            PlatformGuest.MapApicWindows(a);
            PlatformGuest.EnableApic(a);
            PlatformGuest.RouteIoApicPin(a, pin: 4, vector: 0x34);

            // 8N1, OUT2 (the PC's interrupt gate), then enable the THRE interrupt: the empty THR asserts IRQ 4.
            a.mov(dx, 0x3FB);
            a.mov(al, 0x03);
            a.@out(dx, al);
            a.mov(dx, 0x3FC);
            a.mov(al, 0x08);
            a.@out(dx, al);
            a.mov(dx, 0x3F9);
            a.mov(al, 0x02);
            a.@out(dx, al);
            PlatformGuest.WaitForRequest(a, 0x34);
            a.mov(al, 0x34);
            a.@out(0xF4, al);
            a.hlt();
        });

        Assert.Equal(MachineStopReason.DebugExit, stop.Reason);
        Assert.Equal(DebugExitStatus(0x34), stop.ExitStatus);
    }

    [Fact]
    public void The_pit_reaches_ioapic_pin_0_as_kvm_default_routing_sends_it()
    {
        var (stop, _) = BareMetalGuest.Run(a =>
        {
            PlatformGuest.MapApicWindows(a);
            PlatformGuest.EnableApic(a);
            PlatformGuest.RouteIoApicPin(a, pin: 0, vector: 0x30);
            a.mov(al, 0x34);
            a.@out(0x43, al);
            a.mov(al, 1193 & 0xFF);
            a.@out(0x40, al);
            a.mov(al, 1193 >> 8);
            a.@out(0x40, al);
            PlatformGuest.WaitForRequest(a, 0x30);
            a.mov(al, 0x30);
            a.@out(0xF4, al);
            a.hlt();
        });

        Assert.Equal(MachineStopReason.DebugExit, stop.Reason);
        Assert.Equal(DebugExitStatus(0x30), stop.ExitStatus);
    }

    [Fact]
    public void The_rtc_periodic_interrupt_reaches_ioapic_pin_8()
    {
        var (stop, _) = BareMetalGuest.Run(a =>
        {
            PlatformGuest.MapApicWindows(a);
            PlatformGuest.EnableApic(a);
            PlatformGuest.RouteIoApicPin(a, pin: 8, vector: 0x38);

            // Register A: 32.768 kHz divider, rate 6 (1024 Hz); register B: PIE, 24-hour.
            a.mov(al, 0x0A);
            a.@out(0x70, al);
            a.mov(al, 0x26);
            a.@out(0x71, al);
            a.mov(al, 0x0B);
            a.@out(0x70, al);
            a.mov(al, 0x42);
            a.@out(0x71, al);
            PlatformGuest.WaitForRequest(a, 0x38);

            // Register C then says IRQF and PF. UF (0x10) is left out: a second boundary passes during the wait on a
            // loaded host, and the update-ended flag it sets has nothing to do with the periodic interrupt.
            a.mov(al, 0x0C);
            a.@out(0x70, al);
            a.@in(al, 0x71);
            a.and(al, 0xC0);
            a.@out(0xF4, al);
            a.hlt();
        });

        Assert.Equal(MachineStopReason.DebugExit, stop.Reason);
        Assert.Equal(DebugExitStatus(0xC0), stop.ExitStatus);
    }

    [Fact]
    public void Fw_cfg_reports_the_qemu_signature_and_the_vcpu_count()
    {
        var (stop, _) = BareMetalGuest.Run(a =>
        {
            var bad = a.CreateLabel();
            a.mov(dx, 0x510);
            a.mov(ax, 0x0000);
            a.@out(dx, ax);
            a.mov(dx, 0x511);
            foreach (byte expected in "QEMU"u8.ToArray())
            {
                a.@in(al, dx);
                a.cmp(al, expected);
                a.jne(bad);
            }

            a.mov(dx, 0x510);
            a.mov(ax, 0x0005);
            a.@out(dx, ax);
            a.mov(dx, 0x511);
            a.@in(al, dx);
            a.@out(0xF4, al);
            a.hlt();
            a.Label(ref bad);
            a.mov(al, 0x7F);
            a.@out(0xF4, al);
            a.hlt();
        }, vcpus: 3);

        Assert.Equal(MachineStopReason.DebugExit, stop.Reason);
        Assert.Equal(DebugExitStatus(3), stop.ExitStatus);
    }
}

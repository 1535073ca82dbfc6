using Vessel.Core.Interrupts;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.Guests.Tests;

public class MachineLifecycleTests
{
    [Fact]
    public void A_guest_prints_through_the_16550_and_ends_with_the_debug_exit_status()
    {
        var (stop, console) = BareMetalGuest.Run(a =>
        {
            var text = a.CreateLabel();
            var next = a.CreateLabel();
            var wait = a.CreateLabel();
            var done = a.CreateLabel();

            // 8N1 at 115200 baud: DLAB on, divisor 1, DLAB off; FIFOs on.
            a.mov(dx, 0x3FB);
            a.mov(al, 0x80);
            a.@out(dx, al);
            a.mov(dx, 0x3F8);
            a.mov(al, 1);
            a.@out(dx, al);
            a.mov(dx, 0x3F9);
            a.xor(al, al);
            a.@out(dx, al);
            a.mov(dx, 0x3FB);
            a.mov(al, 0x03);
            a.@out(dx, al);
            a.mov(dx, 0x3FA);
            a.mov(al, 0x07);
            a.@out(dx, al);

            a.lea(rsi, __[text]);
            a.Label(ref next);
            a.mov(bl, __byte_ptr[rsi]);
            a.test(bl, bl);
            a.jz(done);
            a.Label(ref wait);
            a.mov(dx, 0x3FD);
            a.@in(al, dx);
            a.test(al, 0x20);
            a.jz(wait);
            a.mov(dx, 0x3F8);
            a.mov(al, bl);
            a.@out(dx, al);
            a.inc(rsi);
            a.jmp(next);
            a.Label(ref done);
            a.mov(eax, 0x2A);
            a.@out(0xF4, eax);
            a.hlt();
            a.Label(ref text);
            a.db("Hello from a Vessel guest\n\0"u8.ToArray());
        });

        Assert.Equal("Hello from a Vessel guest\n", console);
        Assert.Equal(MachineStopReason.DebugExit, stop.Reason);
        Assert.Equal((0x2A << 1) | 1, stop.ExitStatus);
    }

    [Fact]
    public void The_i8042_reset_command_ends_the_machine_as_a_reboot()
    {
        var (stop, _) = BareMetalGuest.Run(a =>
        {
            a.mov(al, 0xFE);
            a.@out(0x64, al);
            a.hlt();
        });

        Assert.Equal(MachineStopReason.Reset, stop.Reason);
        Assert.Equal(0, stop.ExitStatus);
    }

    [Fact]
    public void A_port_no_device_claims_reads_as_all_ones_and_the_machine_carries_on()
    {
        var (stop, _) = BareMetalGuest.Run(a =>
        {
            a.@in(al, 0x99);
            a.@out(0x99, al);
            a.@out(0xF4, al);
            a.hlt();
        });

        Assert.Equal(MachineStopReason.DebugExit, stop.Reason);
        Assert.Equal(0xFF, stop.ExitStatus);
    }

    [Fact]
    public void A_triple_fault_shuts_the_machine_down_with_a_reason()
    {
        // The Linux entry leaves the IDT empty, so the first exception cannot be delivered: #UD -> #DF -> shutdown.
        var (stop, _) = BareMetalGuest.Run(a => a.ud2());

        Assert.Equal(MachineStopReason.Shutdown, stop.Reason);
        Assert.Contains("triple fault", stop.Detail);
        Assert.Equal(1, stop.ExitStatus);
    }
}

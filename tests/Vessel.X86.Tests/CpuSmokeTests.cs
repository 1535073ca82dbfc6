using Vessel.X86.Tests.Guests;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests;

public class CpuSmokeTests
{
    [Fact]
    public void A_loop_summing_numbers_reports_the_sum_through_the_exit_port()
    {
        using var guest = new LongModeGuest(a =>
        {
            var loop = a.CreateLabel();
            a.xor(eax, eax);
            a.mov(ecx, 10);
            a.Label(ref loop);
            a.add(eax, ecx);
            a.dec(ecx);
            a.jnz(loop);
            a.@out(0xF4, al);
            a.hlt();
        });

        guest.Run();

        Assert.Equal(55u, guest.Io.ExitValue);
    }

    [Fact]
    public void Guest_prints_a_string_to_the_console_port()
    {
        using var guest = new LongModeGuest(a =>
        {
            var text = a.CreateLabel();
            var loop = a.CreateLabel();
            var done = a.CreateLabel();
            a.lea(rsi, __[text]);
            a.mov(dx, 0x3F8);
            a.Label(ref loop);
            a.mov(al, __byte_ptr[rsi]);
            a.test(al, al);
            a.jz(done);
            a.@out(dx, al);
            a.inc(rsi);
            a.jmp(loop);
            a.Label(ref done);
            LongModeGuest.EmitExit(a, 0);
            a.Label(ref text);
            a.db("Hello, Vessel!\n\0"u8.ToArray());
        });

        guest.Run();

        Assert.Equal("Hello, Vessel!\n", guest.Io.Console);
        Assert.Equal(0u, guest.Io.ExitValue);
    }

    [Fact]
    public void Calls_and_returns_use_the_stack()
    {
        using var guest = new LongModeGuest(a =>
        {
            var function = a.CreateLabel();
            a.mov(edi, 20);
            a.call(function);
            a.@out(0xF4, al);
            a.hlt();
            a.Label(ref function);
            a.push(rbx);
            a.lea(eax, __[rdi + rdi * 2 + 3]);
            a.pop(rbx);
            a.ret();
        });

        guest.Run();

        Assert.Equal(63u, guest.Io.ExitValue);
    }
}

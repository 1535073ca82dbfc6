using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests.Guests;

/// <summary>Interrupts from the software VM's chips delivered through the 64-bit IDT of a bare-metal guest.</summary>
public class InterruptDeliveryTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public void A_one_shot_apic_timer_interrupt_reaches_its_handler_in_service_until_eoi()
    {
        using var guest = new LongModeGuest(a =>
        {
            var handler = a.CreateLabel();
            var wait = a.CreateLabel();
            InterruptGuest.EmitGate(a, 0x40, handler);
            a.mov(rdi, InterruptGuest.ApicBase);
            a.mov(__dword_ptr[rdi + 0xF0], 0x1FF);
            a.mov(__dword_ptr[rdi + 0x3E0], 0xB);
            a.mov(__dword_ptr[rdi + 0x320], 0x40);
            a.mov(__dword_ptr[rdi + 0x380], 1_000_000);
            a.sti();
            a.Label(ref wait);
            a.hlt();
            a.jmp(wait);

            a.Label(ref handler);
            a.mov(ebx, __dword_ptr[rdi + 0x120]);
            a.mov(__dword_ptr[rdi + 0xB0], 0);
            a.mov(ecx, __dword_ptr[rdi + 0x120]);
            a.mov(edx, __dword_ptr[rdi + 0x390]);
            LongModeGuest.EmitExit(a, 0x11);
        });
        guest.MapMmioHole();

        var exit = guest.RunFor(Timeout);

        Assert.True(guest.Io.ExitValue != null, exit.ToString());

        Assert.Equal(0x11u, guest.Io.ExitValue);
        Assert.Equal(1ul, guest.Cpu.Registers.Rbx & 1);
        Assert.Equal(0ul, guest.Cpu.Registers.Rcx & 1);
        Assert.Equal(0ul, guest.Cpu.Registers.Rdx);
    }

    [Fact]
    public void An_interrupt_held_back_by_sti_is_taken_right_after_the_next_instruction()
    {
        using var guest = new LongModeGuest(a =>
        {
            var handler = a.CreateLabel();
            var afterShadow = a.CreateLabel();
            var wait = a.CreateLabel();
            InterruptGuest.EmitGate(a, 0x50, handler);
            a.cli();
            a.mov(rdi, InterruptGuest.ApicBase);
            a.mov(__dword_ptr[rdi + 0xF0], 0x1FF);
            a.mov(__dword_ptr[rdi + 0x300], 0x40050);
            a.lea(rcx, __[afterShadow]);
            a.xor(edx, edx);
            a.sti();
            a.nop();
            a.Label(ref afterShadow);
            a.inc(edx);
            a.inc(edx);
            a.inc(edx);
            a.Label(ref wait);
            a.hlt();
            a.jmp(wait);

            a.Label(ref handler);
            a.mov(rbx, __qword_ptr[rsp]);
            LongModeGuest.EmitExit(a, 0x13);
        });
        guest.MapMmioHole();

        var exit = guest.RunFor(Timeout);

        Assert.True(guest.Io.ExitValue != null, exit.ToString());
        Assert.Equal(guest.Cpu.Registers.Rcx, guest.Cpu.Registers.Rbx);
        Assert.Equal(0ul, guest.Cpu.Registers.Rdx);
    }

    [Fact]
    public void An_nmi_sent_while_its_handler_runs_waits_for_iret_and_is_taken_at_the_return_address()
    {
        using var guest = new LongModeGuest((a, routes) =>
        {
            var handler = a.CreateLabel();
            var nested = a.CreateLabel();
            var wait = a.CreateLabel();
            a.xor(ebx, ebx);
            a.mov(rdi, InterruptGuest.ApicBase);
            a.mov(__dword_ptr[rdi + 0xF0], 0x1FF);
            a.mov(__dword_ptr[rdi + 0x310], 0);
            a.mov(__dword_ptr[rdi + 0x300], 0x4400);
            a.Label(ref wait);
            a.cmp(ebx, 2);
            a.jne(wait);
            LongModeGuest.EmitExit(a, 0x14);

            // First NMI: send a second one to this CPU, spin a while (it must stay blocked), record what was seen.
            a.Label(ref handler);
            routes.Route(2, handler);
            a.inc(ebx);
            a.cmp(ebx, 1);
            a.jne(nested);
            a.mov(rsi, __qword_ptr[rsp]);
            a.mov(__dword_ptr[rdi + 0x300], 0x4400);
            a.mov(ecx, 1000);
            var spin = a.CreateLabel();
            a.Label(ref spin);
            a.dec(ecx);
            a.jnz(spin);
            a.mov(ecx, ebx);
            a.iretq();

            a.Label(ref nested);
            a.mov(rdx, __qword_ptr[rsp]);
            a.iretq();
        });
        guest.MapMmioHole();

        var exit = guest.RunFor(Timeout);

        Assert.True(guest.Io.ExitValue != null, exit.ToString());
        Assert.Equal(1ul, guest.Cpu.Registers.Rcx);
        Assert.Equal(guest.Cpu.Registers.Rsi, guest.Cpu.Registers.Rdx);
    }

    [Fact]
    public void Two_nmis_signalled_together_are_both_delivered_and_a_third_merges_with_them()
    {
        using var guest = new LongModeGuest((a, routes) =>
        {
            var handler = a.CreateLabel();
            var wait = a.CreateLabel();
            var settle = a.CreateLabel();

            // The NMIs are pending before the first instruction, so they count in memory, not in a register set here.
            a.Label(ref wait);
            a.cmp(__dword_ptr[LongModeGuest.DataAddress], 2);
            a.jb(wait);
            a.mov(ecx, 20_000);
            a.Label(ref settle);
            a.dec(ecx);
            a.jnz(settle);
            LongModeGuest.EmitExit(a, 0x15);

            a.Label(ref handler);
            routes.Route(2, handler);
            a.inc(__dword_ptr[LongModeGuest.DataAddress]);
            a.iretq();
        });
        guest.Cpu.SignalNonMaskableInterrupt();
        guest.Cpu.SignalNonMaskableInterrupt();
        guest.Cpu.SignalNonMaskableInterrupt();

        var exit = guest.RunFor(Timeout);

        Assert.True(guest.Io.ExitValue != null, exit.ToString());
        Assert.Equal(2u, guest.Memory.Read<uint>(new Vessel.Core.Memory.GuestAddress(LongModeGuest.DataAddress)));
    }

    [Fact]
    public void An_nmi_is_held_back_by_the_sti_shadow_like_an_interrupt()
    {
        using var guest = new LongModeGuest((a, routes) =>
        {
            var handler = a.CreateLabel();
            var afterShadow = a.CreateLabel();
            a.cli();
            a.lea(rcx, __[afterShadow]);
            a.mov(rdi, InterruptGuest.ApicBase);
            a.mov(__dword_ptr[rdi + 0xF0], 0x1FF);
            a.mov(__dword_ptr[rdi + 0x310], 0);
            a.mov(__dword_ptr[rdi + 0x300], 0x4400);
            a.sti();
            a.nop();
            a.Label(ref afterShadow);
            a.hlt();
            a.jmp(afterShadow);

            a.Label(ref handler);
            routes.Route(2, handler);
            a.mov(rbx, __qword_ptr[rsp]);
            LongModeGuest.EmitExit(a, 0x16);
        });
        guest.MapMmioHole();

        var exit = guest.RunFor(Timeout);

        Assert.True(guest.Io.ExitValue != null, exit.ToString());
        Assert.Equal(guest.Cpu.Registers.Rcx, guest.Cpu.Registers.Rbx);
    }

    [Fact]
    public void A_periodic_apic_timer_interrupts_again_after_each_eoi()
    {
        using var guest = new LongModeGuest(a =>
        {
            var handler = a.CreateLabel();
            var wait = a.CreateLabel();
            var again = a.CreateLabel();
            InterruptGuest.EmitGate(a, 0x41, handler);
            a.xor(r12d, r12d);
            a.mov(rdi, InterruptGuest.ApicBase);
            a.mov(__dword_ptr[rdi + 0xF0], 0x1FF);
            a.mov(__dword_ptr[rdi + 0x3E0], 0xB);
            a.mov(__dword_ptr[rdi + 0x320], 0x20041);
            a.mov(__dword_ptr[rdi + 0x380], 500_000);
            a.sti();
            a.Label(ref wait);
            a.hlt();
            a.jmp(wait);

            a.Label(ref handler);
            a.inc(r12d);
            a.mov(__dword_ptr[rdi + 0xB0], 0);
            a.cmp(r12d, 3);
            a.jb(again);
            LongModeGuest.EmitExit(a, 0x12);
            a.Label(ref again);
            InterruptGuest.EmitReturnTo(a, wait);
        });
        guest.MapMmioHole();

        var exit = guest.RunFor(Timeout);

        Assert.True(guest.Io.ExitValue != null, exit.ToString());

        Assert.Equal(0x12u, guest.Io.ExitValue);
        Assert.Equal(3ul, guest.Cpu.Register(12));
    }

    [Fact]
    public void The_pit_interrupts_through_the_pic_and_wakes_hlt()
    {
        using var guest = new LongModeGuest(a =>
        {
            var handler = a.CreateLabel();
            var wait = a.CreateLabel();
            InterruptGuest.EmitGate(a, 0x20, handler);

            // ICW1-ICW4 for both chips: vectors 0x20 and 0x28, cascade on IRQ 2, 8086 mode; then only IRQ 0 unmasked.
            foreach (var (port, value) in new (byte, byte)[]
            {
                (0x20, 0x11), (0x21, 0x20), (0x21, 0x04), (0x21, 0x01),
                (0xA0, 0x11), (0xA1, 0x28), (0xA1, 0x02), (0xA1, 0x01),
                (0x21, 0xFE), (0xA1, 0xFF),
            })
            {
                a.mov(al, value);
                a.@out(port, al);
            }

            // Channel 0, lobyte/hibyte, mode 2, 1193 input clocks: one interrupt per millisecond.
            a.mov(al, 0x34);
            a.@out(0x43, al);
            a.mov(al, 1193 & 0xFF);
            a.@out(0x40, al);
            a.mov(al, 1193 >> 8);
            a.@out(0x40, al);
            a.sti();
            a.Label(ref wait);
            a.hlt();
            a.jmp(wait);

            a.Label(ref handler);
            a.mov(al, 0x0B);
            a.@out(0x20, al);
            a.@in(al, 0x20);
            a.movzx(ebx, al);
            a.mov(al, 0x20);
            a.@out(0x20, al);
            LongModeGuest.EmitExit(a, 0x22);
        });

        var exit = guest.RunFor(Timeout);

        Assert.True(guest.Io.ExitValue != null, exit.ToString());

        Assert.Equal(0x22u, guest.Io.ExitValue);
        Assert.Equal(1ul, guest.Cpu.Registers.Rbx);
    }

    [Fact]
    public void An_ioapic_pin_delivers_its_redirection_vector_to_the_local_apic()
    {
        using var guest = new LongModeGuest(a =>
        {
            var handler = a.CreateLabel();
            var wait = a.CreateLabel();
            InterruptGuest.EmitGate(a, 0x44, handler);

            // The PIC comes out of reset unmasked and its ExtINT would win over the APIC: mask it, as an OS does.
            a.mov(al, 0xFF);
            a.@out(0x21, al);
            a.@out(0xA1, al);
            a.mov(rdi, InterruptGuest.ApicBase);
            a.mov(__dword_ptr[rdi + 0xF0], 0x1FF);
            a.mov(rsi, InterruptGuest.IoApicBase);
            a.mov(__dword_ptr[rsi], 0x10 + (4 * 2) + 1);
            a.mov(__dword_ptr[rsi + 0x10], 0);
            a.mov(__dword_ptr[rsi], 0x10 + (4 * 2));
            a.mov(__dword_ptr[rsi + 0x10], 0x44);
            a.sti();
            a.mov(al, 1);
            a.@out(0x80, al);
            a.Label(ref wait);
            a.hlt();
            a.jmp(wait);

            a.Label(ref handler);
            a.mov(__dword_ptr[rdi + 0xB0], 0);
            LongModeGuest.EmitExit(a, 0x44);
        });
        guest.MapMmioHole();
        guest.Io.PortWriteHandler = (port, _) =>
        {
            if (port == 0x80)
            {
                guest.Vm.SetIrqLine(4, true);
                guest.Vm.SetIrqLine(4, false);
            }
        };

        var exit = guest.RunFor(Timeout);

        Assert.True(guest.Io.ExitValue != null, exit.ToString());

        Assert.Equal(0x44u, guest.Io.ExitValue);
    }
}

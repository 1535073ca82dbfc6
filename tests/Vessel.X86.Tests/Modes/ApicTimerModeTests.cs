using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests.Modes;

/// <summary>
/// The xAPIC's one-shot timer (Intel SDM 3A §11.5.4) interrupting a guest waiting in STI; HLT in real mode (through the
/// IVT), 32-bit protected mode (32-bit interrupt gates) and 64-bit mode (16-byte gates): each guest arms the timer three
/// times, counts the interrupts, checks the vector is in service inside the handler, and EOIs it.
/// </summary>
public class ApicTimerModeTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private const int Vector = 0x40;
    private const uint ApicBase = 0xFEE0_0000;
    private const int Interrupts = 3;

    /// <summary>1 ms at the 1 GHz APIC bus clock with the divider at 1.</summary>
    private const uint InitialCount = 1_000_000;

    /// <summary>Local APIC registers (SDM 3A Table 11-1).</summary>
    private const int EndOfInterrupt = 0xB0;
    private const int SpuriousInterruptVector = 0xF0;
    private const int InServiceVector0x40 = 0x120;
    private const int LvtTimer = 0x320;
    private const int TimerInitialCount = 0x380;
    private const int TimerCurrentCount = 0x390;
    private const int TimerDivideConfiguration = 0x3E0;

    /// <summary>What every guest reports: the vector in service inside each handler, then the count, the spent timer and an empty ISR.</summary>
    private static readonly uint[] ExpectedReports = [1, 1, 1, Interrupts, 0, 0];

    [Fact]
    public void Apic_timer_interrupts_reach_a_real_mode_guest_through_the_ivt()
    {
        const ulong entry = 0x1000;
        const ulong protectedStep = 0x1100;
        const ulong unrealEntry = 0x1200;
        using var guest = new ModeGuest();

        // The APIC page lies above 1 MiB: the guest reaches it through FS with a 4 GiB limit cached in protected mode
        // ("unreal mode"; real-mode segment loads change only the base, SDM 3A §21.1.1).
        guest.Load(16, entry, a =>
        {
            a.cli();
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(ss, ax);
            a.mov(sp, (ushort)ModeGuest.StackTop);
            a.lgdt(__[(uint)ModeGuest.GdtPointerAddress]);
            a.mov(eax, cr0);
            a.or(al, 1);
            a.mov(cr0, eax);
            a.jmp(ModeGuest.Code16, (uint)protectedStep);
        });
        guest.Load(16, protectedStep, a =>
        {
            a.mov(bx, ModeGuest.Data32);
            a.mov(fs, bx);
            a.mov(eax, cr0);
            a.and(al, 0xFE);
            a.mov(cr0, eax);
            a.jmp(0, (uint)unrealEntry);
        });

        Label handler = default;
        var labels = guest.Load(16, unrealEntry, a =>
        {
            handler = a.CreateLabel();
            a.mov(ebx, ApicBase);
            EmitArmAndCount(a, offset => __dword_ptr.fs[ebx + offset]);
            ModeGuest.EmitExit(a, 0);

            a.Label(ref handler);
            EmitHandlerBody(a, offset => __dword_ptr.fs[ebx + offset]);
            a.iret();
        });
        guest.SetRealModeVector(Vector, 0, (ushort)labels(handler));
        guest.StartInRealMode(0, (ushort)entry);

        RunAndCheck(guest);
        Assert.False(guest.Cpu.ProtectedMode);
    }

    [Fact]
    public void Apic_timer_interrupts_reach_a_32_bit_protected_mode_guest_through_32_bit_interrupt_gates()
    {
        const ulong entry = 0x3000;
        using var guest = new ModeGuest();
        Label handler = default;
        var labels = guest.Load(32, entry, a =>
        {
            handler = a.CreateLabel();
            a.mov(ebx, ApicBase);
            EmitArmAndCount(a, offset => __dword_ptr[ebx + offset]);
            ModeGuest.EmitExit(a, 0);

            a.Label(ref handler);
            EmitHandlerBody(a, offset => __dword_ptr[ebx + offset]);
            a.iretd();
        });
        guest.SetProtectedModeGate(Vector, labels(handler));
        guest.StartInProtectedMode(entry);

        RunAndCheck(guest);
        Assert.Equal(32, guest.Cpu.CodeBits);
    }

    [Fact]
    public void Apic_timer_interrupts_reach_a_64_bit_guest_through_16_byte_interrupt_gates()
    {
        const ulong entry = 0x4000;
        using var guest = new ModeGuest();
        Label handler = default;
        var labels = guest.Load(64, entry, a =>
        {
            handler = a.CreateLabel();
            a.mov(ebx, ApicBase);
            EmitArmAndCount(a, offset => __dword_ptr[rbx + offset]);
            ModeGuest.EmitExit(a, 0);

            a.Label(ref handler);
            EmitHandlerBody(a, offset => __dword_ptr[rbx + offset]);
            a.iretq();
        });
        guest.SetLongModeGate(Vector, labels(handler));
        guest.StartInLongMode(entry);

        RunAndCheck(guest);
        Assert.Equal(64, guest.Cpu.CodeBits);
    }

    /// <summary>
    /// Enables the APIC, programs a one-shot timer on <see cref="Vector"/>, then <see cref="Interrupts"/> times arms it and
    /// waits in HLT until the handler has counted one more interrupt in ESI; reports the count, the current count and ISR.
    /// </summary>
    private static void EmitArmAndCount(Assembler a, Func<int, AssemblerMemoryOperand> apic)
    {
        var next = a.CreateLabel();
        var wait = a.CreateLabel();
        a.mov(apic(SpuriousInterruptVector), 0x1FF);
        a.mov(apic(TimerDivideConfiguration), 0xB);
        a.mov(apic(LvtTimer), Vector);
        a.xor(esi, esi);
        a.mov(ecx, Interrupts);
        a.Label(ref next);
        a.mov(edi, esi);
        a.mov(apic(TimerInitialCount), InitialCount);
        a.sti();
        a.Label(ref wait);
        a.hlt();
        a.cmp(esi, edi);
        a.je(wait);
        a.cli();
        a.dec(ecx);
        a.jnz(next);
        ModeGuest.EmitReport(a, esi);
        a.mov(eax, apic(TimerCurrentCount));
        ModeGuest.EmitReport(a, eax);
        a.mov(eax, apic(InServiceVector0x40));
        a.and(eax, 1);
        ModeGuest.EmitReport(a, eax);
    }

    /// <summary>Counts the interrupt, reports whether its vector is in service, and EOIs it.</summary>
    private static void EmitHandlerBody(Assembler a, Func<int, AssemblerMemoryOperand> apic)
    {
        a.inc(esi);
        a.mov(eax, apic(InServiceVector0x40));
        a.and(eax, 1);
        ModeGuest.EmitReport(a, eax);
        a.mov(apic(EndOfInterrupt), 0);
    }

    private static void RunAndCheck(ModeGuest guest)
    {
        var exit = guest.RunFor(Timeout);

        Assert.True(guest.Io.ExitValue == 0, $"{exit}; values {string.Join(",", guest.Values)}");
        Assert.Equal(ExpectedReports, guest.Values);
    }
}

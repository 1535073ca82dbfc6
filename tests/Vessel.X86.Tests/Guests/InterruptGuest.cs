using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests.Guests;

/// <summary>Guest-code helpers for interrupt tests: IDT gates written by the guest, and a return from a handler.</summary>
public static class InterruptGuest
{
    public const ulong ApicBase = 0xFEE0_0000;
    public const ulong IoApicBase = 0xFEC0_0000;

    /// <summary>
    /// Writes a 64-bit interrupt gate for <paramref name="vector"/> to <paramref name="handler"/> (clobbers RAX), splitting
    /// the address through memory rather than with shifts, so it needs only MOV and LEA.
    /// </summary>
    public static void EmitGate(Assembler a, int vector, Label handler)
    {
        ulong gate = LongModeGuest.IdtAddress + ((ulong)vector * 16);
        a.lea(rax, __[handler]);
        a.mov(__qword_ptr[gate + 8], rax);
        a.mov(__word_ptr[gate], ax);
        a.mov(__word_ptr[gate + 2], LongModeGuest.KernelCode);
        a.mov(__word_ptr[gate + 4], 0x8E00);
        a.mov(ax, __word_ptr[gate + 10]);
        a.mov(__word_ptr[gate + 6], ax);
        a.mov(eax, __dword_ptr[gate + 12]);
        a.mov(__dword_ptr[gate + 8], eax);
        a.mov(__dword_ptr[gate + 12], 0);
    }

    /// <summary>
    /// Leaves a handler for an interrupt taken in 64-bit ring 0 without IRETQ: drop the five-quadword frame, set IF
    /// again and continue at <paramref name="resume"/>.
    /// </summary>
    public static void EmitReturnTo(Assembler a, Label resume)
    {
        a.add(rsp, 40);
        a.sti();
        a.jmp(resume);
    }
}

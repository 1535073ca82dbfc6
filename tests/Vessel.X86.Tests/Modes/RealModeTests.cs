using Iced.Intel;
using Vessel.Core.Accel;
using Vessel.Core.Memory;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests.Modes;

/// <summary>Real-address mode (CR0.PE=0): operand- and address-size prefixes, segment arithmetic and the IVT (Intel SDM 3A §21.1).</summary>
public class RealModeTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>The test code runs at 0100:0000, linear 0x1000, so every label offset differs from its linear address.</summary>
    private const ushort CodeSegment = 0x0100;

    [Fact]
    public void Real_mode_code_does_32_bit_arithmetic_and_addressing_through_operand_and_address_size_prefixes()
    {
        using var guest = new ModeGuest();
        guest.Load(16, (ulong)CodeSegment << 4, a =>
        {
            ModeGuest.EmitCheckpoint(a, 1);

            // 0x66: 32-bit operands in 16-bit code.
            a.mov(eax, 0x89AB_CDEF);
            a.mov(ebx, 0x1234_5678);
            a.add(eax, ebx);
            ModeGuest.EmitReport(a, eax);
            a.mov(ecx, 0x1_0000);
            a.imul(ecx, ecx, 3);
            ModeGuest.EmitReport(a, ecx);
            a.xor(edx, edx);
            a.mov(eax, 100_000);
            a.mov(ecx, 7);
            a.div(ecx);
            ModeGuest.EmitReport(a, eax);
            ModeGuest.EmitReport(a, edx);
            a.mov(eax, 0x8000_0001);
            a.shl(eax, 1);
            a.setc(bl);
            a.movzx(ebx, bl);
            ModeGuest.EmitReport(a, ebx);

            // 0x67: a 32-bit address, [base + index*4 + disp], in DS = 0x0200 (linear 0x2000 + 0x100 + 0x10 + 8).
            a.mov(ax, 0x0200);
            a.mov(ds, ax);
            a.mov(ebx, 0x100);
            a.mov(esi, 4);
            a.mov(__dword_ptr[ebx + esi * 4 + 8], 0xDEAD_BEEF);

            // The same byte through a 16-bit address in another segment: 0x0211 * 16 + 8 = 0x2118.
            a.mov(ax, 0x0211);
            a.mov(es, ax);
            a.mov(ecx, __dword_ptr.es[0x0008]);
            ModeGuest.EmitReport(a, ecx);
            ModeGuest.EmitCheckpoint(a, 2);
            ModeGuest.EmitExit(a, 0);
        }, origin: 0);
        guest.StartInRealMode(CodeSegment, 0);

        var exit = guest.RunFor(Timeout);

        Assert.True(guest.Io.ExitValue == 0, $"{exit}; checkpoints {string.Join(",", guest.Checkpoints)}");
        Assert.Equal([1u, 2u], guest.Checkpoints);
        Assert.Equal([0x9BE0_2467u, 0x3_0000u, 14_285u, 5u, 1u, 0xDEAD_BEEFu], guest.Values);
        Assert.Equal(0xDEAD_BEEFu, guest.Memory.Read<uint>(new GuestAddress(0x2118)));
        Assert.False(guest.Cpu.ProtectedMode);
        Assert.Equal(16, guest.Cpu.CodeBits);
        Assert.Equal(CodeSegment, guest.Cpu.Segment(X86.Cpu.SegmentRegister.CS).Selector);
    }

    [Fact]
    public void Real_mode_addresses_are_segment_times_16_plus_a_16_bit_offset_that_wraps_within_the_segment()
    {
        using var guest = new ModeGuest();
        guest.Load(16, (ulong)CodeSegment << 4, a =>
        {
            // A 16-bit effective address wraps at 64 KiB before the base is added: 0300:(FFF0 + 0020) is 0300:0010.
            a.mov(ax, 0x0300);
            a.mov(ds, ax);
            a.mov(bx, 0xFFF0);
            a.mov(si, 0x0020);
            a.mov(__word_ptr[bx + si], 0x1234);

            // FFFF:0010 is linear 0x100000 with the A20 gate open (no 1 MiB wrap; SDM 3A §21.1.1).
            a.mov(ax, 0xFFFF);
            a.mov(ds, ax);
            a.mov(__byte_ptr[0x0010], 0x5A);

            // Two segment:offset pairs for one linear address see the same byte: 0400:0123 and 0412:0003 (0x4123).
            a.mov(ax, 0x0400);
            a.mov(ds, ax);
            a.mov(__byte_ptr[0x0123], 0xA5);
            a.mov(ax, 0x0412);
            a.mov(es, ax);
            a.movzx(ecx, __byte_ptr.es[0x0003]);
            ModeGuest.EmitReport(a, ecx);

            // A segment load in real mode sets the base to selector * 16 and nothing else.
            a.mov(ax, 0x1234);
            a.mov(fs, ax);
            ModeGuest.EmitExit(a, 0);
        }, origin: 0);
        guest.StartInRealMode(CodeSegment, 0);

        var exit = guest.RunFor(Timeout);

        Assert.True(guest.Io.ExitValue == 0, exit.ToString());
        Assert.Equal(0x1234, guest.Memory.Read<ushort>(new GuestAddress(0x3010)));
        Assert.Equal(0, guest.Memory.Read<ushort>(new GuestAddress(0x13010)));
        Assert.Equal(0x5A, guest.Memory.Read<byte>(new GuestAddress(0x10_0000)));
        Assert.Equal(0, guest.Memory.Read<byte>(new GuestAddress(0)));
        Assert.Equal([0xA5u], guest.Values);
        var fsCache = guest.Cpu.Segment(X86.Cpu.SegmentRegister.FS);
        Assert.Equal((ushort)0x1234, fsCache.Selector);
        Assert.Equal(0x12340ul, fsCache.Base);
        Assert.Equal(0xFFFFu, fsCache.Limit);
    }

    [Fact]
    public void Int_n_in_real_mode_goes_through_the_ivt_pushing_flags_cs_ip_and_clearing_if()
    {
        using var guest = new ModeGuest();
        Label handler = default, returnPoint = default;
        var labels = guest.Load(16, (ulong)CodeSegment << 4, a =>
        {
            handler = a.CreateLabel();
            returnPoint = a.CreateLabel();
            a.xor(ax, ax);
            a.mov(ss, ax);
            a.mov(sp, (ushort)ModeGuest.StackTop);
            a.mov(ecx, 0);
            a.sti();
            a.@int(0x21);
            a.Label(ref returnPoint);

            // Back from IRET: IF restored from the pushed FLAGS, the handler's ECX kept.
            a.pushf();
            a.pop(ax);
            a.and(eax, 0x200);
            ModeGuest.EmitReport(a, eax);
            ModeGuest.EmitReport(a, ecx);
            ModeGuest.EmitExit(a, 0);

            // The frame is IP, CS, FLAGS at SS:SP, SS:SP+2, SS:SP+4 (SDM 2 "INT n/INTO/INT3/INT1", real-address-mode operation).
            a.Label(ref handler);
            a.mov(bp, sp);
            a.movzx(eax, __word_ptr.ss[bp]);
            ModeGuest.EmitReport(a, eax);
            a.movzx(eax, __word_ptr.ss[bp + 2]);
            ModeGuest.EmitReport(a, eax);
            a.movzx(eax, __word_ptr.ss[bp + 4]);
            a.and(eax, 0x200);
            ModeGuest.EmitReport(a, eax);
            a.pushf();
            a.pop(ax);
            a.and(eax, 0x300);
            ModeGuest.EmitReport(a, eax);
            a.mov(ecx, 0xC0FFEE);
            a.iret();
        }, origin: 0);
        guest.SetRealModeVector(0x21, CodeSegment, (ushort)labels(handler));
        guest.StartInRealMode(CodeSegment, 0);

        var exit = guest.RunFor(Timeout);

        Assert.True(guest.Io.ExitValue == 0, exit.ToString());
        Assert.Equal([(uint)labels(returnPoint), CodeSegment, 0x200u, 0u, 0x200u, 0xC0FFEEu], guest.Values);
        Assert.Equal((ulong)ModeGuest.StackTop, guest.Cpu.Registers.Rsp & 0xFFFF);
    }
    [Fact]
    public void Real_mode_exceptions_go_through_the_ivt_lidt_points_at_and_report_the_faulting_instruction()
    {
        const ulong relocatedIvt = 0x9000;
        const ulong idtPointer = 0x8F00;
        using var guest = new ModeGuest();
        Label divide = default, handler = default, wrongHandler = default;
        var labels = guest.Load(16, (ulong)CodeSegment << 4, a =>
        {
            divide = a.CreateLabel();
            handler = a.CreateLabel();
            wrongHandler = a.CreateLabel();
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(ss, ax);
            a.mov(sp, (ushort)ModeGuest.StackTop);
            a.lidt(__[(ushort)idtPointer]);
            a.mov(ax, 1);
            a.xor(dx, dx);
            a.xor(cx, cx);
            a.Label(ref divide);
            a.div(cx);
            a.mov(eax, 0x600D);
            ModeGuest.EmitReport(a, eax);
            ModeGuest.EmitExit(a, 0);

            // #DE is a fault: the pushed IP is the DIV's, so the handler steps over its two bytes (F7 F1).
            a.Label(ref handler);
            a.mov(bp, sp);
            a.movzx(eax, __word_ptr.ss[bp]);
            ModeGuest.EmitReport(a, eax);
            a.movzx(eax, __word_ptr.ss[bp + 2]);
            ModeGuest.EmitReport(a, eax);
            a.add(__word_ptr.ss[bp], 2);
            a.iret();

            a.Label(ref wrongHandler);
            ModeGuest.EmitExit(a, 2);
        }, origin: 0);
        guest.Memory.Write(new GuestAddress(idtPointer), (ushort)0x3FF);
        guest.Memory.Write(new GuestAddress(idtPointer + 2), (uint)relocatedIvt);
        guest.SetRealModeVector(0, CodeSegment, (ushort)labels(wrongHandler));
        guest.Memory.Write(new GuestAddress(relocatedIvt), (ushort)labels(handler));
        guest.Memory.Write(new GuestAddress(relocatedIvt + 2), CodeSegment);
        guest.StartInRealMode(CodeSegment, 0);

        var exit = guest.RunFor(Timeout);

        Assert.True(guest.Io.ExitValue == 0, $"{exit}; exit value {guest.Io.ExitValue}");
        Assert.Equal([(uint)labels(divide), CodeSegment, 0x600Du], guest.Values);
    }

    [Fact]
    public void Operand_size_prefixed_pushes_and_far_calls_in_real_mode_move_the_stack_by_their_width()
    {
        const ushort farSegment = 0x0200;
        using var guest = new ModeGuest();
        Label afterCall = default;
        var labels = guest.Load(16, (ulong)CodeSegment << 4, a =>
        {
            afterCall = a.CreateLabel();
            a.xor(ax, ax);
            a.mov(ss, ax);
            a.mov(sp, (ushort)ModeGuest.StackTop);
            a.mov(eax, 0x1234_5678);
            a.push(eax);
            a.movzx(ecx, sp);
            ModeGuest.EmitReport(a, ecx);
            a.pop(ebx);
            ModeGuest.EmitReport(a, ebx);
            a.pushad();
            a.movzx(ecx, sp);
            ModeGuest.EmitReport(a, ecx);
            a.popad();
            a.call(farSegment, 0);
            a.Label(ref afterCall);
            a.movzx(ecx, sp);
            ModeGuest.EmitReport(a, ecx);
            ModeGuest.EmitExit(a, 0);
        }, origin: 0);

        // A far CALL loads CS with base segment * 16 and pushes CS then IP.
        guest.Load(16, (ulong)farSegment << 4, a =>
        {
            a.mov(ax, cs);
            a.movzx(eax, ax);
            ModeGuest.EmitReport(a, eax);
            a.mov(bp, sp);
            a.movzx(eax, __word_ptr.ss[bp]);
            ModeGuest.EmitReport(a, eax);
            a.movzx(eax, __word_ptr.ss[bp + 2]);
            ModeGuest.EmitReport(a, eax);
            a.retf();
        }, origin: 0);
        guest.StartInRealMode(CodeSegment, 0);

        var exit = guest.RunFor(Timeout);

        Assert.True(guest.Io.ExitValue == 0, $"{exit}; values {string.Join(",", guest.Values.Select(v => v.ToString("x")))}");
        Assert.Equal(
            [0x6FFCu, 0x1234_5678u, 0x7000u - 32, farSegment, (uint)labels(afterCall), CodeSegment, 0x7000u],
            guest.Values);
    }
    [Fact]
    public void Operand_size_prefixed_far_call_retf_and_iretd_in_real_mode_use_32_bit_stack_slots()
    {
        const ushort farSegment = 0x0200;
        const ushort iretTarget = 0x0800;
        using var guest = new ModeGuest();
        Label afterCall = default;
        var labels = guest.Load(16, (ulong)CodeSegment << 4, a =>
        {
            afterCall = a.CreateLabel();
            a.xor(ax, ax);
            a.mov(ss, ax);
            a.mov(sp, (ushort)ModeGuest.StackTop);

            // o32 CALL FAR 0200:00000000 (66 9A ptr16:32), written by hand: the assembler picks ptr16:16 in 16-bit code.
            a.db(0x66, 0x9A, 0, 0, 0, 0, farSegment & 0xFF, farSegment >> 8);
            a.Label(ref afterCall);
            a.movzx(ecx, sp);
            ModeGuest.EmitReport(a, ecx);

            // IRETD pops EIP, CS and EFLAGS as dwords.
            a.pushfd();
            a.mov(eax, CodeSegment);
            a.push(eax);
            a.mov(eax, iretTarget);
            a.push(eax);
            a.iretd();
        }, origin: 0);
        guest.Load(16, ((ulong)CodeSegment << 4) + iretTarget, a =>
        {
            a.movzx(ecx, sp);
            ModeGuest.EmitReport(a, ecx);
            ModeGuest.EmitExit(a, 0);
        }, origin: iretTarget);
        guest.Load(16, (ulong)farSegment << 4, a =>
        {
            a.movzx(ecx, sp);
            ModeGuest.EmitReport(a, ecx);
            a.mov(bp, sp);
            a.mov(eax, __dword_ptr.ss[bp]);
            ModeGuest.EmitReport(a, eax);
            a.movzx(eax, __word_ptr.ss[bp + 4]);
            ModeGuest.EmitReport(a, eax);
            a.db(0x66, 0xCB); // o32 RETF
        }, origin: 0);
        guest.StartInRealMode(CodeSegment, 0);

        var exit = guest.RunFor(Timeout);

        Assert.True(guest.Io.ExitValue == 0, $"{exit}; values {string.Join(",", guest.Values.Select(v => v.ToString("x")))}");
        uint stack = (uint)ModeGuest.StackTop;
        Assert.Equal([stack - 8, (uint)labels(afterCall), CodeSegment, stack, stack], guest.Values);
        Assert.Equal(CodeSegment, guest.Cpu.Segment(X86.Cpu.SegmentRegister.CS).Selector);
    }
}

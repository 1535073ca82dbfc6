using System.Runtime.InteropServices;
using Vessel.Core.Memory;
using Vessel.X86.Cpu;
using Vessel.X86.Tests.Guests;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests.Sse;

/// <summary>
/// What SSE, MMX and x87 instructions raise when the system does not let them run (CR0.EM, CR0.TS, CR4.OSFXSR),
/// on misaligned operands, and on unmasked floating-point exceptions; and FXSAVE/FXRSTOR round trips.
/// </summary>
public class SseExceptionTests
{
    private const uint InvalidOpcode = 6;
    private const uint DeviceNotAvailable = 7;
    private const uint GeneralProtection = 13;
    private const uint FloatingPointError = 16;
    private const uint SimdFloatingPoint = 19;
    private const ulong Data = LongModeGuest.DataAddress;

    private static uint Run(Action<Iced.Intel.Assembler> program, ulong cr0Set = 0, ulong cr4Clear = 0)
    {
        using var guest = FaultingGuest.Create(program, cr0Set: cr0Set, cr4Clear: cr4Clear);
        return FaultingGuest.RunToExit(guest);
    }

    [Fact]
    public void Sse_instruction_with_CR0_TS_set_raises_device_not_available() =>
        Assert.Equal(DeviceNotAvailable, Run(a => a.addps(xmm0, xmm1), cr0Set: (ulong)ControlRegister0.TaskSwitched));

    [Fact]
    public void Sse_instruction_with_CR0_EM_set_raises_invalid_opcode() =>
        Assert.Equal(InvalidOpcode, Run(a => a.movaps(xmm0, xmm1), cr0Set: (ulong)ControlRegister0.Emulation));

    [Fact]
    public void X87_instruction_with_CR0_EM_set_raises_device_not_available() =>
        Assert.Equal(DeviceNotAvailable, Run(a => a.fld1(), cr0Set: (ulong)ControlRegister0.Emulation));

    [Fact]
    public void X87_instruction_with_CR0_TS_set_raises_device_not_available() =>
        Assert.Equal(DeviceNotAvailable, Run(a => a.fldz(), cr0Set: (ulong)ControlRegister0.TaskSwitched));

    [Fact]
    public void Mmx_instruction_with_CR0_TS_set_raises_device_not_available() =>
        Assert.Equal(DeviceNotAvailable, Run(a => a.paddb(mm0, mm1), cr0Set: (ulong)ControlRegister0.TaskSwitched));

    [Fact]
    public void Fwait_raises_device_not_available_only_when_CR0_MP_and_TS_are_both_set()
    {
        Assert.Equal(FaultingGuest.Completed, Run(a => a.wait(), cr0Set: (ulong)ControlRegister0.TaskSwitched));
        Assert.Equal(DeviceNotAvailable, Run(a => a.wait(), cr0Set: (ulong)(ControlRegister0.TaskSwitched | ControlRegister0.MonitorCoprocessor)));
    }

    [Fact]
    public void Sse_instruction_without_CR4_OSFXSR_raises_invalid_opcode_but_MMX_still_runs()
    {
        Assert.Equal(InvalidOpcode, Run(a => a.xorps(xmm0, xmm0), cr4Clear: (ulong)ControlRegister4.OsFxsr));
        Assert.Equal(FaultingGuest.Completed, Run(a => a.pxor(mm0, mm0), cr4Clear: (ulong)ControlRegister4.OsFxsr));
    }

    [Fact]
    public void Movaps_from_a_misaligned_address_raises_general_protection_and_movups_does_not()
    {
        Assert.Equal(GeneralProtection, Run(a => a.movaps(xmm0, __xmmword_ptr[Data + 8])));
        Assert.Equal(GeneralProtection, Run(a => a.addps(xmm0, __xmmword_ptr[Data + 4])));
        Assert.Equal(GeneralProtection, Run(a => a.movdqa(__xmmword_ptr[Data + 1], xmm0)));
        Assert.Equal(FaultingGuest.Completed, Run(a => a.movups(xmm0, __xmmword_ptr[Data + 8])));
        Assert.Equal(FaultingGuest.Completed, Run(a => a.addss(xmm0, __dword_ptr[Data + 4])));
    }

    [Fact]
    public unsafe void Unmasked_divide_by_zero_raises_SIMD_exception_and_leaves_the_destination_alone()
    {
        using var guest = FaultingGuest.Create(a =>
        {
            a.mov(__dword_ptr[Data], 0x1F80 & ~(1 << 9));
            a.ldmxcsr(__dword_ptr[Data]);
            a.mov(eax, 0x3F80_0000);
            a.movd(xmm0, eax);
            a.xorps(xmm1, xmm1);
            a.divss(xmm0, xmm1);
        });
        Assert.Equal(SimdFloatingPoint, FaultingGuest.RunToExit(guest));
        Assert.Equal(0x3F80_0000UL, guest.Cpu.Fpu->Xmm[0]);
        Assert.Equal(0x1F80u & ~(1u << 9) | (1u << 2), guest.Cpu.Fpu->Mxcsr);
    }

    [Fact]
    public void Unmasked_exception_without_CR4_OSXMMEXCPT_raises_invalid_opcode() =>
        Assert.Equal(InvalidOpcode, Run(
            a =>
            {
                a.mov(__dword_ptr[Data], 0x1F80 & ~(1 << 7));
                a.ldmxcsr(__dword_ptr[Data]);
                a.mov(eax, 0x7F80_0001);
                a.movd(xmm0, eax);
                a.addss(xmm0, xmm0);
            },
            cr4Clear: (ulong)ControlRegister4.OsXmmExceptions));

    [Fact]
    public void Ldmxcsr_with_a_reserved_bit_raises_general_protection() =>
        Assert.Equal(GeneralProtection, Run(a =>
        {
            a.mov(__dword_ptr[Data], 0x1_1F80);
            a.ldmxcsr(__dword_ptr[Data]);
        }));

    [Fact]
    public void Xsave_family_is_not_available() =>
        Assert.Equal(InvalidOpcode, Run(a => a.xgetbv()));

    [Fact]
    public void Pending_unmasked_x87_exception_is_delivered_at_the_next_waiting_instruction()
    {
        Assert.Equal(FloatingPointError, Run(a =>
        {
            a.mov(__word_ptr[Data], 0x037F & ~(1 << 2));
            a.fldcw(__word_ptr[Data]);
            a.fld1();
            a.fldz();
            a.fdivp(st1, st0);
            a.wait();
        }));
    }

    [Fact]
    public void Pending_unmasked_x87_exception_is_delivered_at_the_next_MMX_instruction_but_not_at_FNSTSW()
    {
        Assert.Equal(FloatingPointError, Run(a =>
        {
            a.mov(__word_ptr[Data], 0x037F & ~(1 << 2));
            a.fldcw(__word_ptr[Data]);
            a.fld1();
            a.fldz();
            a.fdivp(st1, st0);
            a.fnstsw(ax);
            a.paddb(mm0, mm1);
        }));
    }

    [Fact]
    public void Fxsave_to_a_misaligned_address_raises_general_protection() =>
        Assert.Equal(GeneralProtection, Run(a => a.fxsave64(__[Data + 8])));

    [Fact]
    public void Mmx_instructions_alias_the_x87_registers_and_emms_empties_the_tags()
    {
        using var guest = FaultingGuest.Create(a =>
        {
            a.fld1();
            a.fld1();
            a.mov(rax, 0x1122_3344_5566_7788);
            a.movq(mm3, rax);
            a.fxsave64(__[Data]);
            a.emms();
            a.fxsave64(__[Data + 512]);
        });
        Assert.Equal(FaultingGuest.Completed, FaultingGuest.RunToExit(guest));
        var first = guest.Memory.GetSpan(new GuestAddress(Data), 512);
        Assert.Equal(0, (BitConverter.ToUInt16(first[2..]) >> 11) & 7);
        Assert.Equal(0xFF, first[4]);
        Assert.Equal(0x1122_3344_5566_7788UL, BitConverter.ToUInt64(first[(32 + (3 * 16))..]));
        Assert.Equal(0xFFFF, BitConverter.ToUInt16(first[(40 + (3 * 16))..]));
        Assert.Equal(0, guest.Memory.GetSpan(new GuestAddress(Data + 512), 512)[4]);
    }

    /// <summary>Loads recognisable x87 and SSE state (ST(0)-ST(2) in use), then FXSAVE64 to [RSI].</summary>
    private static void EmitStateAndSave(Iced.Intel.Assembler a)
    {
        foreach (var register in new[] { xmm0, xmm1, xmm2, xmm3, xmm4, xmm5, xmm6, xmm7, xmm8, xmm9, xmm10, xmm11, xmm12, xmm13, xmm14, xmm15 })
        {
            a.pxor(register, register);
        }

        a.fninit();
        a.fldpi();
        a.fld1();
        a.fldl2t();
        a.fldz();
        a.fdivp(st1, st0);
        a.mov(eax, 0x3F00 | 0x40);
        a.push(rax);
        a.ldmxcsr(__dword_ptr[rsp]);
        a.pop(rax);
        a.mov(rax, 0x0123_4567_89AB_CDEF);
        a.movq(xmm0, rax);
        a.pshufd(xmm1, xmm0, 0x1B);
        a.pcmpeqb(xmm15, xmm15);
        a.movdqa(xmm7, xmm1);
        a.paddq(xmm7, xmm0);
        a.fxsave64(__[rsi]);
        a.fninit();
        a.mov(eax, 0x1F80);
        a.push(rax);
        a.ldmxcsr(__dword_ptr[rsp]);
        a.pop(rax);
    }

    [Fact]
    public unsafe void Fxsave_image_matches_the_host_and_fxrstor_restores_it()
    {
        // Host: the same instructions, FXSAVE64 into an aligned buffer.
        byte* host = (byte*)NativeMemory.AlignedAlloc(512, 64);
        try
        {
            new Span<byte>(host, 512).Clear();
            using (var executor = new NativeSseExecutor(EmitStateAndSave))
            {
                executor.Run(host);
            }

            using var guest = FaultingGuest.Create(a =>
            {
                a.mov(rsi, Data);
                EmitStateAndSave(a);
                a.pxor(xmm0, xmm0);
                a.pxor(xmm15, xmm15);
                a.fxrstor64(__[Data]);
                a.fxsave64(__[Data + 512]);
            });
            Assert.Equal(FaultingGuest.Completed, FaultingGuest.RunToExit(guest));
            var ours = guest.Memory.GetSpan(new GuestAddress(Data), 416).ToArray();
            var restored = guest.Memory.GetSpan(new GuestAddress(Data + 512), 416).ToArray();
            var expected = new Span<byte>(host, 416).ToArray();

            // FOP, FIP and FDP (bytes 6-23) name host addresses, and MXCSR_MASK (bytes 28-31) is the host's own
            // (AMD sets the misaligned-exception mask bit 17); everything else must agree.
            foreach (var image in new[] { expected, ours, restored })
            {
                Array.Clear(image, 6, 18);
                Array.Clear(image, 28, 4);

                // ST(3)-ST(7) are empty: their bytes are whatever the registers held before.
                Array.Clear(image, 32 + (3 * 16), 5 * 16);
            }
            Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(ours));
            Assert.Equal(Convert.ToHexString(ours), Convert.ToHexString(restored));
        }
        finally
        {
            NativeMemory.AlignedFree(host);
        }
    }
}

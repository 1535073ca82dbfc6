using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Iced.Intel;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Execution.Simd;

/// <summary>
/// SSE/SSE2 and MMX data movement (Intel SDM 1 §10.4.1, §11.4.1, §9.4.1): whole-register, scalar, half-register and
/// GPR moves, non-temporal stores, masked stores, sign masks, word inserts and extracts, and immediate shuffles.
/// </summary>
public static unsafe class SimdDataTransfer
{
    public static void Register(HandlerTable table)
    {
        foreach (var code in new[] { Code.Movaps_xmm_xmmm128, Code.Movapd_xmm_xmmm128, Code.Movdqa_xmm_xmmm128, Code.Movntdqa_xmm_m128 })
        {
            table.Add(code, &LoadFull<RegisterForm, Aligned>, &LoadFull<MemoryForm, Aligned>);
        }

        foreach (var code in new[] { Code.Movups_xmm_xmmm128, Code.Movupd_xmm_xmmm128, Code.Movdqu_xmm_xmmm128, Code.Lddqu_xmm_m128 })
        {
            table.Add(code, &LoadFull<RegisterForm, Unaligned>, &LoadFull<MemoryForm, Unaligned>);
        }

        foreach (var code in new[] { Code.Movaps_xmmm128_xmm, Code.Movapd_xmmm128_xmm, Code.Movdqa_xmmm128_xmm, Code.Movntps_m128_xmm, Code.Movntpd_m128_xmm, Code.Movntdq_m128_xmm })
        {
            table.Add(code, &StoreFullRegister, &StoreFull<Aligned>);
        }

        foreach (var code in new[] { Code.Movups_xmmm128_xmm, Code.Movupd_xmmm128_xmm, Code.Movdqu_xmmm128_xmm })
        {
            table.Add(code, &StoreFullRegister, &StoreFull<Unaligned>);
        }

        table.Add(Code.Movss_xmm_xmmm32, &MoveScalarSingleRegister, &LoadScalarSingle);
        table.Add(Code.Movss_xmmm32_xmm, &StoreScalarSingleRegister, &StoreScalarSingle);
        table.Add(Code.Movsd_xmm_xmmm64, &MoveScalarDoubleRegister, &LoadScalarDouble);
        table.Add(Code.Movsd_xmmm64_xmm, &StoreScalarDoubleRegister, &StoreLowQuadword);
        table.Add(Code.Movlps_xmm_m64, &LoadLowQuadword);
        table.Add(Code.Movlpd_xmm_m64, &LoadLowQuadword);
        table.Add(Code.Movhlps_xmm_xmm, &MoveHighToLow);
        table.Add(Code.Movlps_m64_xmm, &StoreLowQuadword);
        table.Add(Code.Movlpd_m64_xmm, &StoreLowQuadword);
        table.Add(Code.Movhps_xmm_m64, &LoadHighQuadword);
        table.Add(Code.Movhpd_xmm_m64, &LoadHighQuadword);
        table.Add(Code.Movlhps_xmm_xmm, &MoveLowToHigh);
        table.Add(Code.Movhps_m64_xmm, &StoreHighQuadword);
        table.Add(Code.Movhpd_m64_xmm, &StoreHighQuadword);

        table.Add(Code.Movd_xmm_rm32, &MoveToXmm<RegisterForm>, &MoveToXmm<MemoryForm>);
        table.Add(Code.Movq_xmm_rm64, &MoveToXmm<RegisterForm>, &MoveToXmm<MemoryForm>);
        table.Add(Code.Movd_rm32_xmm, &MoveFromXmm, &MoveFromXmm);
        table.Add(Code.Movq_rm64_xmm, &MoveFromXmm, &MoveFromXmm);
        table.Add(Code.Movq_xmm_xmmm64, &MoveQuadwordZeroExtend<RegisterForm>, &MoveQuadwordZeroExtend<MemoryForm>);
        table.Add(Code.Movq_xmmm64_xmm, &StoreQuadwordRegister, &StoreLowQuadword);
        table.Add(Code.Movd_mm_rm32, &MoveToMmx<RegisterForm>, &MoveToMmx<MemoryForm>);
        table.Add(Code.Movq_mm_rm64, &MoveToMmx<RegisterForm>, &MoveToMmx<MemoryForm>);
        table.Add(Code.Movd_rm32_mm, &MoveFromMmx, &MoveFromMmx);
        table.Add(Code.Movq_rm64_mm, &MoveFromMmx, &MoveFromMmx);
        table.Add(Code.Movq_mm_mmm64, &LoadMmx<RegisterForm>, &LoadMmx<MemoryForm>);
        table.Add(Code.Movq_mmm64_mm, &StoreMmxRegister, &StoreMmx);
        table.Add(Code.Movntq_m64_mm, &StoreMmx);
        table.Add(Code.Movq2dq_xmm_mm, &MoveMmxToXmm);
        table.Add(Code.Movdq2q_mm_xmm, &MoveXmmToMmx);
        table.Add(Code.Movnti_m32_r32, &StoreNonTemporalInteger);
        table.Add(Code.Movnti_m64_r64, &StoreNonTemporalInteger);
        table.Add(Code.Emms, &EmptyMmxState);

        table.Add(Code.Movmskps_r32_xmm, &MoveMaskSingle);
        table.Add(Code.Movmskps_r64_xmm, &MoveMaskSingle);
        table.Add(Code.Movmskpd_r32_xmm, &MoveMaskDouble);
        table.Add(Code.Movmskpd_r64_xmm, &MoveMaskDouble);
        table.Add(Code.Pmovmskb_r32_xmm, &MoveMaskBytes);
        table.Add(Code.Pmovmskb_r64_xmm, &MoveMaskBytes);
        table.Add(Code.Pmovmskb_r32_mm, &MoveMaskBytesMmx);
        table.Add(Code.Pmovmskb_r64_mm, &MoveMaskBytesMmx);
        table.Add(Code.Maskmovdqu_rDI_xmm_xmm, &MaskedMoveXmm);
        table.Add(Code.Maskmovq_rDI_mm_mm, &MaskedMoveMmx);

        table.Add(Code.Pinsrw_xmm_r32m16_imm8, &InsertWordXmm<RegisterForm>, &InsertWordXmm<MemoryForm>);
        table.Add(Code.Pinsrw_xmm_r64m16_imm8, &InsertWordXmm<RegisterForm>, &InsertWordXmm<MemoryForm>);
        table.Add(Code.Pinsrw_mm_r32m16_imm8, &InsertWordMmx<RegisterForm>, &InsertWordMmx<MemoryForm>);
        table.Add(Code.Pinsrw_mm_r64m16_imm8, &InsertWordMmx<RegisterForm>, &InsertWordMmx<MemoryForm>);
        table.Add(Code.Pextrw_r32_xmm_imm8, &ExtractWordXmm);
        table.Add(Code.Pextrw_r64_xmm_imm8, &ExtractWordXmm);
        table.Add(Code.Pextrw_r32_mm_imm8, &ExtractWordMmx);
        table.Add(Code.Pextrw_r64_mm_imm8, &ExtractWordMmx);

        Immediate<Pshufd>(table, Code.Pshufd_xmm_xmmm128_imm8);
        Immediate<Pshufhw>(table, Code.Pshufhw_xmm_xmmm128_imm8);
        Immediate<Pshuflw>(table, Code.Pshuflw_xmm_xmmm128_imm8);
        Immediate<Shufps>(table, Code.Shufps_xmm_xmmm128_imm8);
        Immediate<Shufpd>(table, Code.Shufpd_xmm_xmmm128_imm8);
        table.Add(Code.Pshufw_mm_mmm64_imm8, &ShuffleWordsMmx<RegisterForm>, &ShuffleWordsMmx<MemoryForm>);
    }

    /// <summary>Registers an xmm, xmm/m128, imm8 instruction whose memory operand must be aligned.</summary>
    public static void Immediate<TOp>(HandlerTable table, Code code)
        where TOp : IVectorImmediateOperation =>
        table.Add(code, &XmmImmediate<TOp, RegisterForm>, &XmmImmediate<TOp, MemoryForm>);

    /// <summary>Marks a 128-bit memory access that must be 16-byte aligned.</summary>
    private interface IAlignment
    {
        static abstract bool Required { get; }
    }

    private readonly struct Aligned : IAlignment
    {
        public static bool Required => true;
    }

    private readonly struct Unaligned : IAlignment
    {
        public static bool Required => false;
    }

    public static void XmmImmediate<TOp, TForm>(Cpu cpu, DecodedInstruction* instruction)
        where TOp : IVectorImmediateOperation
        where TForm : IOperandForm
    {
        if (!cpu.SseAvailable() || !SimdOperands.TryReadSource<TForm>(cpu, instruction, aligned: true, out var source))
        {
            return;
        }

        var destination = SimdOperands.Xmm(cpu, instruction->Operand0Register);
        *destination = TOp.Apply(*destination, source, (byte)instruction->Immediate);
    }

    private static void LoadFull<TForm, TAlignment>(Cpu cpu, DecodedInstruction* instruction)
        where TForm : IOperandForm
        where TAlignment : IAlignment
    {
        if (cpu.SseAvailable() && SimdOperands.TryReadSource<TForm>(cpu, instruction, TAlignment.Required, out var value))
        {
            *SimdOperands.Xmm(cpu, instruction->Operand0Register) = value;
        }
    }

    private static void StoreFullRegister(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.SseAvailable())
        {
            *SimdOperands.Xmm(cpu, instruction->Operand0Register) = *SimdOperands.Xmm(cpu, instruction->Operand1Register);
        }
    }

    private static void StoreFull<TAlignment>(Cpu cpu, DecodedInstruction* instruction)
        where TAlignment : IAlignment
    {
        if (cpu.SseAvailable())
        {
            SimdOperands.TryWriteMemory(cpu, instruction, TAlignment.Required, *SimdOperands.Xmm(cpu, instruction->Operand1Register));
        }
    }

    /// <summary>MOVSS xmm, xmm merges the low doubleword; MOVSS xmm, m32 zeroes the rest (SDM 2 MOVSS).</summary>
    private static void MoveScalarSingleRegister(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.SseAvailable())
        {
            var destination = SimdOperands.Xmm(cpu, instruction->Operand0Register);
            *destination = destination->AsUInt32().WithElement(0, SimdOperands.Xmm(cpu, instruction->Operand1Register)->AsUInt32().ToScalar()).AsByte();
        }
    }

    private static void LoadScalarSingle(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.SseAvailable() && cpu.TryRead(instruction->LinearAddress(cpu.State), out uint value))
        {
            *SimdOperands.Xmm(cpu, instruction->Operand0Register) = Vector128.CreateScalar(value).AsByte();
        }
    }

    private static void StoreScalarSingleRegister(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.SseAvailable())
        {
            var destination = SimdOperands.Xmm(cpu, instruction->Operand0Register);
            *destination = destination->AsUInt32().WithElement(0, SimdOperands.Xmm(cpu, instruction->Operand1Register)->AsUInt32().ToScalar()).AsByte();
        }
    }

    private static void StoreScalarSingle(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.SseAvailable())
        {
            cpu.TryWrite(instruction->LinearAddress(cpu.State), (uint)cpu.Fpu->Xmm[instruction->Operand1Register * 2]);
        }
    }

    private static void MoveScalarDoubleRegister(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.SseAvailable())
        {
            cpu.Fpu->Xmm[instruction->Operand0Register * 2] = cpu.Fpu->Xmm[instruction->Operand1Register * 2];
        }
    }

    private static void StoreScalarDoubleRegister(Cpu cpu, DecodedInstruction* instruction) => MoveScalarDoubleRegister(cpu, instruction);

    private static void LoadScalarDouble(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.SseAvailable() && cpu.TryRead(instruction->LinearAddress(cpu.State), out ulong value))
        {
            *SimdOperands.Xmm(cpu, instruction->Operand0Register) = Vector128.CreateScalar(value).AsByte();
        }
    }

    private static void LoadLowQuadword(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.SseAvailable() && cpu.TryRead(instruction->LinearAddress(cpu.State), out ulong value))
        {
            cpu.Fpu->Xmm[instruction->Operand0Register * 2] = value;
        }
    }

    private static void LoadHighQuadword(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.SseAvailable() && cpu.TryRead(instruction->LinearAddress(cpu.State), out ulong value))
        {
            cpu.Fpu->Xmm[(instruction->Operand0Register * 2) + 1] = value;
        }
    }

    private static void StoreLowQuadword(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.SseAvailable())
        {
            cpu.TryWrite(instruction->LinearAddress(cpu.State), cpu.Fpu->Xmm[instruction->Operand1Register * 2]);
        }
    }

    private static void StoreHighQuadword(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.SseAvailable())
        {
            cpu.TryWrite(instruction->LinearAddress(cpu.State), cpu.Fpu->Xmm[(instruction->Operand1Register * 2) + 1]);
        }
    }

    private static void MoveHighToLow(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.SseAvailable())
        {
            cpu.Fpu->Xmm[instruction->Operand0Register * 2] = cpu.Fpu->Xmm[(instruction->Operand1Register * 2) + 1];
        }
    }

    private static void MoveLowToHigh(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.SseAvailable())
        {
            cpu.Fpu->Xmm[(instruction->Operand0Register * 2) + 1] = cpu.Fpu->Xmm[instruction->Operand1Register * 2];
        }
    }

    /// <summary>MOVD/MOVQ xmm, r/m: the value zero-extended to 128 bits.</summary>
    private static void MoveToXmm<TForm>(Cpu cpu, DecodedInstruction* instruction)
        where TForm : IOperandForm
    {
        if (!cpu.SseAvailable() || !SimdOperands.TryReadGeneral<TForm>(cpu, instruction, out ulong value))
        {
            return;
        }

        *SimdOperands.Xmm(cpu, instruction->Operand0Register) = Vector128.CreateScalar(value).AsByte();
    }

    private static void MoveFromXmm(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.SseAvailable())
        {
            cpu.TryWriteOperand(instruction, 0, cpu.Fpu->Xmm[instruction->Operand1Register * 2]);
        }
    }

    private static void MoveQuadwordZeroExtend<TForm>(Cpu cpu, DecodedInstruction* instruction)
        where TForm : IOperandForm
    {
        if (cpu.SseAvailable() && SimdOperands.TryReadLowQuadword<TForm>(cpu, instruction, out ulong value))
        {
            *SimdOperands.Xmm(cpu, instruction->Operand0Register) = Vector128.CreateScalar(value).AsByte();
        }
    }

    private static void StoreQuadwordRegister(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.SseAvailable())
        {
            *SimdOperands.Xmm(cpu, instruction->Operand0Register) = Vector128.CreateScalar(cpu.Fpu->Xmm[instruction->Operand1Register * 2]).AsByte();
        }
    }

    private static void MoveToMmx<TForm>(Cpu cpu, DecodedInstruction* instruction)
        where TForm : IOperandForm
    {
        if (!cpu.MmxAvailable() || !SimdOperands.TryReadGeneral<TForm>(cpu, instruction, out ulong value))
        {
            return;
        }

        SimdOperands.EnterMmxState(cpu);
        SimdOperands.WriteMmx(cpu, instruction->Operand0Register, value);
    }

    private static void MoveFromMmx(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.MmxAvailable() && cpu.TryWriteOperand(instruction, 0, SimdOperands.ReadMmx(cpu, instruction->Operand1Register)))
        {
            SimdOperands.EnterMmxState(cpu);
        }
    }

    private static void LoadMmx<TForm>(Cpu cpu, DecodedInstruction* instruction)
        where TForm : IOperandForm
    {
        if (cpu.MmxAvailable() && SimdOperands.TryReadMmxSource<TForm>(cpu, instruction, out ulong value))
        {
            SimdOperands.EnterMmxState(cpu);
            SimdOperands.WriteMmx(cpu, instruction->Operand0Register, value);
        }
    }

    private static void StoreMmxRegister(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.MmxAvailable())
        {
            SimdOperands.EnterMmxState(cpu);
            SimdOperands.WriteMmx(cpu, instruction->Operand0Register, SimdOperands.ReadMmx(cpu, instruction->Operand1Register));
        }
    }

    private static void StoreMmx(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.MmxAvailable() && cpu.TryWrite(instruction->LinearAddress(cpu.State), SimdOperands.ReadMmx(cpu, instruction->Operand1Register)))
        {
            SimdOperands.EnterMmxState(cpu);
        }
    }

    private static void MoveMmxToXmm(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.SseAvailable())
        {
            SimdOperands.EnterMmxState(cpu);
            *SimdOperands.Xmm(cpu, instruction->Operand0Register) = Vector128.CreateScalar(SimdOperands.ReadMmx(cpu, instruction->Operand1Register)).AsByte();
        }
    }

    private static void MoveXmmToMmx(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.SseAvailable())
        {
            SimdOperands.EnterMmxState(cpu);
            SimdOperands.WriteMmx(cpu, instruction->Operand0Register, cpu.Fpu->Xmm[instruction->Operand1Register * 2]);
        }
    }

    /// <summary>MOVNTI is an SSE2 instruction on general registers: an ordinary store here (caches are coherent).</summary>
    private static void StoreNonTemporalInteger(Cpu cpu, DecodedInstruction* instruction)
    {
        int bits = instruction->OperandBits;
        cpu.TryWriteSized(instruction->LinearAddress(cpu.State), bits, cpu.ReadRegister(instruction->Operand1Register, bits));
    }

    /// <summary>EMMS: tag every x87 register empty (SDM 2 EMMS).</summary>
    private static void EmptyMmxState(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.MmxAvailable())
        {
            cpu.Fpu->TagValid = 0;
        }
    }

    private static void MoveMaskSingle(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.SseAvailable())
        {
            cpu.WriteRegister(instruction->Operand0Register, 64, (ulong)SimdOperands.Xmm(cpu, instruction->Operand1Register)->AsUInt32().ExtractMostSignificantBits());
        }
    }

    private static void MoveMaskDouble(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.SseAvailable())
        {
            cpu.WriteRegister(instruction->Operand0Register, 64, (ulong)SimdOperands.Xmm(cpu, instruction->Operand1Register)->AsUInt64().ExtractMostSignificantBits());
        }
    }

    private static void MoveMaskBytes(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.SseAvailable())
        {
            cpu.WriteRegister(instruction->Operand0Register, 64, (ulong)SimdOperands.Xmm(cpu, instruction->Operand1Register)->ExtractMostSignificantBits());
        }
    }

    private static void MoveMaskBytesMmx(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.MmxAvailable())
        {
            SimdOperands.EnterMmxState(cpu);
            ulong value = SimdOperands.ReadMmx(cpu, instruction->Operand1Register);
            cpu.WriteRegister(instruction->Operand0Register, 64, (ulong)Vector128.CreateScalar(value).AsByte().ExtractMostSignificantBits() & 0xFF);
        }
    }

    /// <summary>MASKMOVDQU: stores the bytes whose mask byte has its top bit set to DS:rDI (SDM 2 MASKMOVDQU).</summary>
    private static void MaskedMoveXmm(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.SseAvailable())
        {
            var data = *SimdOperands.Xmm(cpu, instruction->Operand0Register);
            var mask = *SimdOperands.Xmm(cpu, instruction->Operand1Register);
            MaskedStore(cpu, instruction, data, mask, 16);
        }
    }

    private static void MaskedMoveMmx(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.MmxAvailable())
        {
            SimdOperands.EnterMmxState(cpu);
            var data = Vector128.CreateScalar(SimdOperands.ReadMmx(cpu, instruction->Operand0Register)).AsByte();
            var mask = Vector128.CreateScalar(SimdOperands.ReadMmx(cpu, instruction->Operand1Register)).AsByte();
            MaskedStore(cpu, instruction, data, mask, 8);
        }
    }

    private static void MaskedStore(Cpu cpu, DecodedInstruction* instruction, Vector128<byte> data, Vector128<byte> mask, int length)
    {
        // The destination is DS:rDI (overridable), which Iced reports as the memory operand.
        ulong address = instruction->LinearAddress(cpu.State);
        uint selected = mask.ExtractMostSignificantBits();
        for (int i = 0; i < length; i++)
        {
            if ((selected & (1u << i)) != 0 && !cpu.TryWrite(address + (ulong)i, data.GetElement(i)))
            {
                return;
            }
        }
    }

    private static void InsertWordXmm<TForm>(Cpu cpu, DecodedInstruction* instruction)
        where TForm : IOperandForm
    {
        if (!cpu.SseAvailable() || !TryReadWord<TForm>(cpu, instruction, out ushort value))
        {
            return;
        }

        var destination = SimdOperands.Xmm(cpu, instruction->Operand0Register);
        *destination = destination->AsUInt16().WithElement((int)(instruction->Immediate & 7), value).AsByte();
    }

    private static void InsertWordMmx<TForm>(Cpu cpu, DecodedInstruction* instruction)
        where TForm : IOperandForm
    {
        if (!cpu.MmxAvailable() || !TryReadWord<TForm>(cpu, instruction, out ushort value))
        {
            return;
        }

        SimdOperands.EnterMmxState(cpu);
        int shift = (int)(instruction->Immediate & 3) * 16;
        ulong current = SimdOperands.ReadMmx(cpu, instruction->Operand0Register);
        SimdOperands.WriteMmx(cpu, instruction->Operand0Register, (current & ~(0xFFFFUL << shift)) | ((ulong)value << shift));
    }

    private static bool TryReadWord<TForm>(Cpu cpu, DecodedInstruction* instruction, out ushort value)
        where TForm : IOperandForm
    {
        if (!TForm.IsMemory)
        {
            value = (ushort)cpu.State->Gpr[instruction->Operand1Register];
            return true;
        }

        return cpu.TryRead(instruction->LinearAddress(cpu.State), out value);
    }

    private static void ExtractWordXmm(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.SseAvailable())
        {
            ushort value = SimdOperands.Xmm(cpu, instruction->Operand1Register)->AsUInt16().GetElement((int)(instruction->Immediate & 7));
            cpu.WriteRegister(instruction->Operand0Register, 64, value);
        }
    }

    private static void ExtractWordMmx(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.MmxAvailable())
        {
            SimdOperands.EnterMmxState(cpu);
            ulong value = SimdOperands.ReadMmx(cpu, instruction->Operand1Register) >> ((int)(instruction->Immediate & 3) * 16);
            cpu.WriteRegister(instruction->Operand0Register, 64, (ushort)value);
        }
    }

    private static void ShuffleWordsMmx<TForm>(Cpu cpu, DecodedInstruction* instruction)
        where TForm : IOperandForm
    {
        if (!cpu.MmxAvailable() || !SimdOperands.TryReadMmxSource<TForm>(cpu, instruction, out ulong source))
        {
            return;
        }

        SimdOperands.EnterMmxState(cpu);
        int order = (byte)instruction->Immediate;
        ulong result = 0;
        for (int i = 0; i < 4; i++)
        {
            result |= ((source >> (((order >> (i * 2)) & 3) * 16)) & 0xFFFF) << (i * 16);
        }

        SimdOperands.WriteMmx(cpu, instruction->Operand0Register, result);
    }

    public readonly struct Pshufd : IVectorImmediateOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> destination, Vector128<byte> source, byte order)
        {
            var s = source.AsUInt32();
            return Vector128.Create(s.GetElement(order & 3), s.GetElement((order >> 2) & 3), s.GetElement((order >> 4) & 3), s.GetElement((order >> 6) & 3)).AsByte();
        }
    }

    public readonly struct Pshufhw : IVectorImmediateOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> destination, Vector128<byte> source, byte order)
        {
            var s = source.AsUInt16();
            return Vector128.Create(
                s.GetElement(0), s.GetElement(1), s.GetElement(2), s.GetElement(3),
                s.GetElement(4 + (order & 3)), s.GetElement(4 + ((order >> 2) & 3)), s.GetElement(4 + ((order >> 4) & 3)), s.GetElement(4 + ((order >> 6) & 3))).AsByte();
        }
    }

    public readonly struct Pshuflw : IVectorImmediateOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> destination, Vector128<byte> source, byte order)
        {
            var s = source.AsUInt16();
            return Vector128.Create(
                s.GetElement(order & 3), s.GetElement((order >> 2) & 3), s.GetElement((order >> 4) & 3), s.GetElement((order >> 6) & 3),
                s.GetElement(4), s.GetElement(5), s.GetElement(6), s.GetElement(7)).AsByte();
        }
    }

    /// <summary>SHUFPS: the low two results from the destination, the high two from the source (SDM 2 SHUFPS).</summary>
    public readonly struct Shufps : IVectorImmediateOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> destination, Vector128<byte> source, byte order)
        {
            var d = destination.AsUInt32();
            var s = source.AsUInt32();
            return Vector128.Create(d.GetElement(order & 3), d.GetElement((order >> 2) & 3), s.GetElement((order >> 4) & 3), s.GetElement((order >> 6) & 3)).AsByte();
        }
    }

    public readonly struct Shufpd : IVectorImmediateOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> destination, Vector128<byte> source, byte order) =>
            Vector128.Create(destination.AsUInt64().GetElement(order & 1), source.AsUInt64().GetElement((order >> 1) & 1)).AsByte();
    }
}

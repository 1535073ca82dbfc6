using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Execution;

/// <summary>MOV, MOVZX, MOVSX, MOVSXD, LEA, XCHG, XLAT, CMOVcc, SETcc, SALC, CBW/CWDE/CDQE and CWD/CDQ/CQO.</summary>
public static unsafe class DataTransfer
{
    public static void Register(HandlerTable table)
    {
        foreach (var (code, operands) in CodeFamily.Of("Mov"))
        {
            if (operands.Contains("Sreg", StringComparison.Ordinal) || operands.Contains("cr", StringComparison.Ordinal)
                || operands.Contains("dr", StringComparison.Ordinal) || operands.Contains("tr", StringComparison.Ordinal))
            {
                continue;
            }

            bool destinationIsMemory = operands.StartsWith("rm", StringComparison.Ordinal) || operands.StartsWith("moffs", StringComparison.Ordinal);
            if (operands.Contains("imm", StringComparison.Ordinal))
            {
                table.Add(code, &MoveRegisterImmediate, &MoveMemoryImmediate);
            }
            else
            {
                table.Add(code, &MoveRegisterRegister, destinationIsMemory ? &Store : &Load);
            }
        }

        foreach (var (code, operands) in CodeFamily.Of("Movzx"))
        {
            if (operands.EndsWith("rm8", StringComparison.Ordinal))
            {
                table.Add(code, &ZeroExtendRegister<Width8>, &ZeroExtendMemory<Width8>);
            }
            else
            {
                table.Add(code, &ZeroExtendRegister<Width16>, &ZeroExtendMemory<Width16>);
            }
        }

        foreach (var (code, operands) in CodeFamily.Of("Movsx"))
        {
            if (operands.EndsWith("rm8", StringComparison.Ordinal))
            {
                table.Add(code, &SignExtendRegister<Width8>, &SignExtendMemory<Width8>);
            }
            else
            {
                table.Add(code, &SignExtendRegister<Width16>, &SignExtendMemory<Width16>);
            }
        }

        foreach (var (code, operands) in CodeFamily.Of("Movsxd"))
        {
            // MOVSXD r16/r32, r/m with no REX.W simply moves (SDM 2 MOVSX/MOVSXD).
            table.Add(code, &SignExtendRegister<Width32>, &SignExtendMemory<Width32>);
        }

        foreach (var (code, _) in CodeFamily.Of("Lea"))
        {
            table.Add(code, &LoadEffectiveAddress);
        }

        foreach (var (code, _) in CodeFamily.Of("Xchg"))
        {
            table.Add(code, &ExchangeRegisters, &ExchangeMemory);
        }

        foreach (var mnemonic in ConditionMnemonics)
        {
            foreach (var (code, _) in CodeFamily.Of("Cmov" + mnemonic))
            {
                table.Add(code, &ConditionalMoveRegister, &ConditionalMoveMemory);
            }

            foreach (var (code, _) in CodeFamily.Of("Set" + mnemonic))
            {
                table.Add(code, &SetConditionRegister, &SetConditionMemory);
            }
        }

        table.Add(Iced.Intel.Code.Cbw, &ConvertAccumulator<Width16>);
        table.Add(Iced.Intel.Code.Cwde, &ConvertAccumulator<Width32>);
        table.Add(Iced.Intel.Code.Cdqe, &ConvertAccumulator<Width64>);
        table.Add(Iced.Intel.Code.Cwd, &ConvertToDoubled<Width16>);
        table.Add(Iced.Intel.Code.Cdq, &ConvertToDoubled<Width32>);
        table.Add(Iced.Intel.Code.Cqo, &ConvertToDoubled<Width64>);
        table.Add(Iced.Intel.Code.Xlat_m8, &TableLookup);
        table.Add(Iced.Intel.Code.Salc, &SetAlFromCarry);
    }

    /// <summary>Iced's condition suffixes in condition-code order (0-15).</summary>
    public static readonly string[] ConditionMnemonics = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"];

    internal static void MoveRegisterRegister(Cpu cpu, DecodedInstruction* instruction)
    {
        int bits = instruction->OperandBits;
        cpu.WriteRegister(instruction->Operand0Register, bits, cpu.ReadRegister(instruction->Operand1Register, bits));
    }

    internal static void MoveRegisterImmediate(Cpu cpu, DecodedInstruction* instruction) =>
        cpu.WriteRegister(instruction->Operand0Register, instruction->OperandBits, instruction->Immediate);

    internal static void MoveMemoryImmediate(Cpu cpu, DecodedInstruction* instruction) =>
        cpu.TryWriteSized(instruction->LinearAddress(cpu.State), instruction->OperandBits, instruction->Immediate);

    internal static void Load(Cpu cpu, DecodedInstruction* instruction)
    {
        int bits = instruction->OperandBits;
        if (cpu.TryReadSized(instruction->LinearAddress(cpu.State), bits, out ulong value))
        {
            cpu.WriteRegister(instruction->Operand0Register, bits, value);
        }
    }

    internal static void Store(Cpu cpu, DecodedInstruction* instruction)
    {
        int bits = instruction->OperandBits;
        cpu.TryWriteSized(instruction->LinearAddress(cpu.State), bits, cpu.ReadRegister(instruction->Operand1Register, bits));
    }

    private static void ZeroExtendRegister<TSource>(Cpu cpu, DecodedInstruction* instruction)
        where TSource : IWidth =>
        cpu.WriteRegister(instruction->Operand0Register, instruction->OperandBits, cpu.ReadRegister(instruction->Operand1Register, TSource.Bits));

    private static void ZeroExtendMemory<TSource>(Cpu cpu, DecodedInstruction* instruction)
        where TSource : IWidth
    {
        if (cpu.TryReadSized(instruction->LinearAddress(cpu.State), TSource.Bits, out ulong value))
        {
            cpu.WriteRegister(instruction->Operand0Register, instruction->OperandBits, value);
        }
    }

    private static void SignExtendRegister<TSource>(Cpu cpu, DecodedInstruction* instruction)
        where TSource : IWidth
    {
        ulong value = cpu.ReadRegister(instruction->Operand1Register, TSource.Bits);
        cpu.WriteRegister(instruction->Operand0Register, instruction->OperandBits, WidthMath.SignExtend(value, TSource.Bits));
    }

    private static void SignExtendMemory<TSource>(Cpu cpu, DecodedInstruction* instruction)
        where TSource : IWidth
    {
        int sourceBits = Math.Min(TSource.Bits, instruction->OperandBits);
        if (cpu.TryReadSized(instruction->LinearAddress(cpu.State), sourceBits, out ulong value))
        {
            cpu.WriteRegister(instruction->Operand0Register, instruction->OperandBits, WidthMath.SignExtend(value, sourceBits));
        }
    }

    internal static void LoadEffectiveAddress(Cpu cpu, DecodedInstruction* instruction) =>
        cpu.WriteRegister(instruction->Operand0Register, instruction->OperandBits, instruction->EffectiveAddress(cpu.State));

    private static void ExchangeRegisters(Cpu cpu, DecodedInstruction* instruction)
    {
        int bits = instruction->OperandBits;
        ulong first = cpu.ReadRegister(instruction->Operand0Register, bits);
        ulong second = cpu.ReadRegister(instruction->Operand1Register, bits);
        cpu.WriteRegister(instruction->Operand0Register, bits, second);
        cpu.WriteRegister(instruction->Operand1Register, bits, first);
    }

    /// <summary>XCHG with memory is always locked (SDM 2 XCHG).</summary>
    private static void ExchangeMemory(Cpu cpu, DecodedInstruction* instruction)
    {
        int bits = instruction->OperandBits;
        ulong linear = instruction->LinearAddress(cpu.State);
        ulong incoming = cpu.ReadRegister(instruction->Operand1Register, bits);
        byte* pointer = cpu.TryGetWritablePointer(linear, bits >> 3, out bool faulted);
        if (faulted)
        {
            return;
        }

        ulong previous;
        if (pointer == null)
        {
            if (!cpu.TryReadSized(linear, bits, out previous) || !cpu.TryWriteSized(linear, bits, incoming))
            {
                return;
            }
        }
        else
        {
            // Safety: TryGetWritablePointer checked the whole operand lies in one writable RAM page.
            previous = bits switch
            {
                8 => Interlocked.Exchange(ref *pointer, (byte)incoming),
                16 => Interlocked.Exchange(ref *(ushort*)pointer, (ushort)incoming),
                32 => Interlocked.Exchange(ref *(uint*)pointer, (uint)incoming),
                _ => Interlocked.Exchange(ref *(ulong*)pointer, incoming),
            };
        }

        cpu.WriteRegister(instruction->Operand1Register, bits, previous);
    }

    private static void ConditionalMoveRegister(Cpu cpu, DecodedInstruction* instruction)
    {
        int bits = instruction->OperandBits;
        ulong value = cpu.Condition(instruction->Tag)
            ? cpu.ReadRegister(instruction->Operand1Register, bits)
            : cpu.ReadRegister(instruction->Operand0Register, bits);

        // A 32-bit CMOV zero-extends its destination even when the condition is false.
        cpu.WriteRegister(instruction->Operand0Register, bits, value);
    }

    private static void ConditionalMoveMemory(Cpu cpu, DecodedInstruction* instruction)
    {
        int bits = instruction->OperandBits;

        // The source is read (and may fault) whatever the condition (SDM 2 CMOVcc).
        if (!cpu.TryReadSized(instruction->LinearAddress(cpu.State), bits, out ulong source))
        {
            return;
        }

        ulong value = cpu.Condition(instruction->Tag) ? source : cpu.ReadRegister(instruction->Operand0Register, bits);
        cpu.WriteRegister(instruction->Operand0Register, bits, value);
    }

    private static void SetConditionRegister(Cpu cpu, DecodedInstruction* instruction) =>
        cpu.WriteRegister(instruction->Operand0Register, 8, cpu.Condition(instruction->Tag) ? 1UL : 0UL);

    private static void SetConditionMemory(Cpu cpu, DecodedInstruction* instruction) =>
        cpu.TryWrite(instruction->LinearAddress(cpu.State), cpu.Condition(instruction->Tag) ? (byte)1 : (byte)0);

    private static void ConvertAccumulator<TWidth>(Cpu cpu, DecodedInstruction* instruction)
        where TWidth : IWidth
    {
        int half = TWidth.Bits / 2;
        ulong value = cpu.ReadRegister(0, half);
        cpu.WriteRegister(0, TWidth.Bits, WidthMath.SignExtend(value, half));
    }

    private static void ConvertToDoubled<TWidth>(Cpu cpu, DecodedInstruction* instruction)
        where TWidth : IWidth
    {
        ulong value = cpu.ReadRegister(0, TWidth.Bits);
        bool negative = ((value >> (TWidth.Bits - 1)) & 1) != 0;
        cpu.WriteRegister(2, TWidth.Bits, negative ? ulong.MaxValue : 0);
    }

    /// <summary>XLAT: AL = [seg:rBX + unsigned AL], rBX at the address size (SDM 2 XLAT).</summary>
    private static void TableLookup(Cpu cpu, DecodedInstruction* instruction)
    {
        var s = cpu.State;
        ulong effective = (s->Gpr[3] + (byte)s->Gpr[0]) & instruction->AddressMask;
        ulong linear = s->SegmentChecks != 0
            ? SegmentLimits.CheckedLinearAddress(s, instruction->SegmentSlot, effective, 1)
            : (effective + s->SegmentBase[instruction->SegmentSlot]) & instruction->LinearMask;
        if (cpu.TryRead(linear, out byte value))
        {
            cpu.WriteRegister(0, 8, value);
        }
    }

    /// <summary>SALC (undocumented D6, outside 64-bit mode): AL = CF ? 0xFF : 0, flags unchanged.</summary>
    private static void SetAlFromCarry(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.CodeBits == 64)
        {
            cpu.RaiseInvalidOpcode();
            return;
        }

        cpu.WriteRegister(0, 8, cpu.CarryFlag ? 0xFFUL : 0);
    }
}

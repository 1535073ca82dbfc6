using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Execution;

/// <summary>
/// MUL, IMUL (one, two and three operands), DIV and IDIV (Intel SDM 2). Multiplies set CF = OF when the product does
/// not fit the destination; SF, ZF, AF and PF are undefined. Divides raise #DE on a zero divisor or a quotient that
/// does not fit, leaving every register unchanged, and leave the (undefined) flags as they were.
/// </summary>
public static unsafe class MultiplyDivide
{
    public static void Register(HandlerTable table)
    {
        foreach (var (code, _) in CodeFamily.Of("Mul"))
        {
            table.Add(code, &OneOperandRegister<UnsignedMultiply>, &OneOperandMemory<UnsignedMultiply>);
        }

        foreach (var (code, _) in CodeFamily.Of("Div"))
        {
            table.Add(code, &OneOperandRegister<UnsignedDivide>, &OneOperandMemory<UnsignedDivide>);
        }

        foreach (var (code, _) in CodeFamily.Of("Idiv"))
        {
            table.Add(code, &OneOperandRegister<SignedDivide>, &OneOperandMemory<SignedDivide>);
        }

        foreach (var (code, operands) in CodeFamily.Of("Imul"))
        {
            if (operands.StartsWith("rm", StringComparison.Ordinal))
            {
                table.Add(code, &OneOperandRegister<SignedMultiply>, &OneOperandMemory<SignedMultiply>);
            }
            else if (operands.Contains("imm", StringComparison.Ordinal))
            {
                table.Add(code, &ThreeOperandRegister, &ThreeOperandMemory);
            }
            else
            {
                table.Add(code, &TwoOperandRegister, &TwoOperandMemory);
            }
        }
    }

    /// <summary>An operation on the accumulator pair (AX, DX:AX, EDX:EAX, RDX:RAX) with one explicit operand.</summary>
    private interface IAccumulatorOperation
    {
        static abstract void Execute(Cpu cpu, ulong operand, int bits);
    }

    private static void OneOperandRegister<TOperation>(Cpu cpu, DecodedInstruction* instruction)
        where TOperation : IAccumulatorOperation
    {
        int bits = instruction->OperandBits;
        TOperation.Execute(cpu, cpu.ReadRegister(instruction->Operand0Register, bits), bits);
    }

    private static void OneOperandMemory<TOperation>(Cpu cpu, DecodedInstruction* instruction)
        where TOperation : IAccumulatorOperation
    {
        int bits = instruction->OperandBits;
        if (cpu.TryReadSized(instruction->LinearAddress(cpu.State), bits, out ulong operand))
        {
            TOperation.Execute(cpu, operand, bits);
        }
    }

    /// <summary>Writes a double-width result: AX for bytes, else the high half to rDX and the low half to rAX.</summary>
    private static void WriteAccumulatorPair(Cpu cpu, int bits, ulong low, ulong high)
    {
        if (bits == 8)
        {
            cpu.WriteRegister(0, 16, (high << 8) | (low & 0xFF));
            return;
        }

        cpu.WriteRegister(0, bits, low);
        cpu.WriteRegister(2, bits, high);
    }

    private static ulong ReadHighAccumulator(Cpu cpu, int bits) => bits == 8 ? cpu.ReadRegister(RegisterSlots.HighByteBase, 8) : cpu.ReadRegister(2, bits);

    private struct UnsignedMultiply : IAccumulatorOperation
    {
        public static void Execute(Cpu cpu, ulong operand, int bits)
        {
            ulong accumulator = cpu.ReadRegister(0, bits);
            ulong low;
            ulong high;
            if (bits == 64)
            {
                high = Math.BigMul(accumulator, operand, out low);
            }
            else
            {
                ulong product = accumulator * operand;
                low = product & WidthMath.Mask(bits);
                high = product >> bits;
            }

            WriteAccumulatorPair(cpu, bits, low, high);
            cpu.SetResultFlags(bits, low, high != 0, high != 0);
        }
    }

    private struct SignedMultiply : IAccumulatorOperation
    {
        public static void Execute(Cpu cpu, ulong operand, int bits)
        {
            long accumulator = (long)WidthMath.SignExtend(cpu.ReadRegister(0, bits), bits);
            long factor = (long)WidthMath.SignExtend(operand, bits);
            ulong low;
            ulong high;
            bool overflow;
            if (bits == 64)
            {
                high = (ulong)Math.BigMul(accumulator, factor, out long signedLow);
                low = (ulong)signedLow;
                overflow = (long)high != signedLow >> 63;
            }
            else
            {
                long product = accumulator * factor;
                low = (ulong)product & WidthMath.Mask(bits);
                high = (ulong)(product >> bits) & WidthMath.Mask(bits);
                overflow = product != (long)WidthMath.SignExtend(low, bits);
            }

            WriteAccumulatorPair(cpu, bits, low, high);
            cpu.SetResultFlags(bits, low, overflow, overflow);
        }
    }

    private struct UnsignedDivide : IAccumulatorOperation
    {
        public static void Execute(Cpu cpu, ulong operand, int bits)
        {
            if (operand == 0)
            {
                cpu.RaiseException(ExceptionVector.DivideError);
                return;
            }

            ulong high = ReadHighAccumulator(cpu, bits);
            ulong low = cpu.ReadRegister(0, bits);

            // The quotient fits exactly when the high half is below the divisor.
            if (high >= operand)
            {
                cpu.RaiseException(ExceptionVector.DivideError);
                return;
            }

            ulong quotient;
            ulong remainder;
            if (bits == 64)
            {
                if (high == 0)
                {
                    (quotient, remainder) = Math.DivRem(low, operand);
                }
                else
                {
                    var (wideQuotient, wideRemainder) = UInt128.DivRem(new UInt128(high, low), operand);
                    quotient = (ulong)wideQuotient;
                    remainder = (ulong)wideRemainder;
                }
            }
            else
            {
                (quotient, remainder) = Math.DivRem((high << bits) | low, operand);
            }

            WriteAccumulatorPair(cpu, bits, quotient, remainder);
        }
    }

    /// <summary>IDIV truncates toward zero; the remainder takes the dividend's sign (SDM 2 IDIV).</summary>
    private struct SignedDivide : IAccumulatorOperation
    {
        public static void Execute(Cpu cpu, ulong operand, int bits)
        {
            if (operand == 0)
            {
                cpu.RaiseException(ExceptionVector.DivideError);
                return;
            }

            ulong high = ReadHighAccumulator(cpu, bits);
            ulong low = cpu.ReadRegister(0, bits);
            Int128 dividend = bits == 64
                ? (Int128)new UInt128(high, low)
                : (long)WidthMath.SignExtend((high << bits) | low, bits * 2);
            long divisor = (long)WidthMath.SignExtend(operand, bits);

            // Work on magnitudes so that no division can overflow the host (Int128.MinValue / -1 would).
            bool dividendNegative = dividend < 0;
            bool divisorNegative = divisor < 0;
            UInt128 magnitude = dividendNegative ? (UInt128)(-dividend) : (UInt128)dividend;
            ulong divisorMagnitude = divisorNegative ? 0UL - (ulong)divisor : (ulong)divisor;
            var (quotientMagnitude, remainderMagnitude) = UInt128.DivRem(magnitude, divisorMagnitude);
            bool quotientNegative = dividendNegative != divisorNegative;
            UInt128 limit = (UInt128)(1UL << (bits - 1)) - (quotientNegative ? 0u : 1u);
            if (quotientMagnitude > limit)
            {
                cpu.RaiseException(ExceptionVector.DivideError);
                return;
            }

            ulong quotient = quotientNegative ? 0UL - (ulong)quotientMagnitude : (ulong)quotientMagnitude;
            ulong remainder = dividendNegative ? 0UL - (ulong)remainderMagnitude : (ulong)remainderMagnitude;
            WriteAccumulatorPair(cpu, bits, quotient & WidthMath.Mask(bits), remainder & WidthMath.Mask(bits));
        }
    }

    /// <summary>The truncated product of two signed operands; CF = OF = the full product did not fit.</summary>
    internal static ulong MultiplyTruncating(Cpu cpu, ulong first, ulong second, int bits)
    {
        long a = (long)WidthMath.SignExtend(first, bits);
        long b = (long)WidthMath.SignExtend(second, bits);
        ulong result;
        bool overflow;
        if (bits == 64)
        {
            long high = Math.BigMul(a, b, out long low);
            result = (ulong)low;
            overflow = high != low >> 63;
        }
        else
        {
            long product = a * b;
            result = (ulong)product & WidthMath.Mask(bits);
            overflow = product != (long)WidthMath.SignExtend(result, bits);
        }

        cpu.SetResultFlags(bits, result, overflow, overflow);
        return result;
    }

    private static void TwoOperandRegister(Cpu cpu, DecodedInstruction* instruction)
    {
        int bits = instruction->OperandBits;
        ulong result = MultiplyTruncating(cpu, cpu.ReadRegister(instruction->Operand0Register, bits), cpu.ReadRegister(instruction->Operand1Register, bits), bits);
        cpu.WriteRegister(instruction->Operand0Register, bits, result);
    }

    private static void TwoOperandMemory(Cpu cpu, DecodedInstruction* instruction)
    {
        int bits = instruction->OperandBits;
        if (cpu.TryReadSized(instruction->LinearAddress(cpu.State), bits, out ulong operand))
        {
            ulong result = MultiplyTruncating(cpu, cpu.ReadRegister(instruction->Operand0Register, bits), operand, bits);
            cpu.WriteRegister(instruction->Operand0Register, bits, result);
        }
    }

    internal static void ThreeOperandRegister(Cpu cpu, DecodedInstruction* instruction)
    {
        int bits = instruction->OperandBits;
        ulong result = MultiplyTruncating(cpu, cpu.ReadRegister(instruction->Operand1Register, bits), instruction->Immediate, bits);
        cpu.WriteRegister(instruction->Operand0Register, bits, result);
    }

    private static void ThreeOperandMemory(Cpu cpu, DecodedInstruction* instruction)
    {
        int bits = instruction->OperandBits;
        if (cpu.TryReadSized(instruction->LinearAddress(cpu.State), bits, out ulong operand))
        {
            ulong result = MultiplyTruncating(cpu, operand, instruction->Immediate, bits);
            cpu.WriteRegister(instruction->Operand0Register, bits, result);
        }
    }
}

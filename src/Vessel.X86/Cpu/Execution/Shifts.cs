using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Execution;

/// <summary>
/// SHL/SAL, SHR, SAR, SHLD and SHRD (Intel SDM 2 "SAL/SAR/SHL/SHR", "SHLD", "SHRD"): SF, ZF and PF from the result,
/// CF the last bit shifted out, OF for one-bit shifts; a masked count of zero leaves the flags alone.
/// </summary>
public static unsafe class Shifts
{
    public static void Register(HandlerTable table)
    {
        ShiftForms.Register<ShiftLeft>(table, "Shl");
        ShiftForms.Register<ShiftLeft>(table, "Sal");
        ShiftForms.Register<ShiftRightLogical>(table, "Shr");
        ShiftForms.Register<ShiftRightArithmetic>(table, "Sar");
        ShiftForms.Register<DoubleShiftLeft>(table, "Shld");
        ShiftForms.Register<DoubleShiftRight>(table, "Shrd");
    }

    private static bool MostSignificant(ulong value, int bits) => ((value >> (bits - 1)) & 1) != 0;

    private struct ShiftLeft : IShiftOperation
    {
        public static ulong Execute(Cpu cpu, ulong value, ulong source, int count, int bits)
        {
            ulong result = (value << count) & WidthMath.Mask(bits);

            // Counts beyond the width (8/16-bit operands) shift everything out; SDM leaves CF undefined there, and 0 is what we give.
            bool carry = count <= bits && ((value >> (bits - count)) & 1) != 0;
            cpu.SetResultFlags(bits, result, carry, MostSignificant(result, bits) != carry);
            return result;
        }
    }

    private struct ShiftRightLogical : IShiftOperation
    {
        public static ulong Execute(Cpu cpu, ulong value, ulong source, int count, int bits)
        {
            ulong result = value >> count;
            bool carry = ((value >> (count - 1)) & 1) != 0;
            cpu.SetResultFlags(bits, result, carry, MostSignificant(value, bits));
            return result;
        }
    }

    private struct ShiftRightArithmetic : IShiftOperation
    {
        public static ulong Execute(Cpu cpu, ulong value, ulong source, int count, int bits)
        {
            long signed = (long)WidthMath.SignExtend(value, bits);
            ulong result = (ulong)(signed >> count) & WidthMath.Mask(bits);
            bool carry = ((signed >> (count - 1)) & 1) != 0;
            cpu.SetResultFlags(bits, result, carry, false);
            return result;
        }
    }

    /// <summary>
    /// SHLD: the destination shifted left, filled from the top of the source. A 16-bit count above 16 is undefined
    /// (SDM); we shift the 48-bit pattern dest:src:dest, which is what Intel parts do.
    /// </summary>
    private struct DoubleShiftLeft : IShiftOperation
    {
        public static ulong Execute(Cpu cpu, ulong value, ulong source, int count, int bits)
        {
            ulong result;
            bool carry;
            if (bits == 16)
            {
                ulong pattern = (value << 48) | (source << 32) | (value << 16);
                result = (pattern << count) >> 48;
                carry = ((pattern >> (64 - count)) & 1) != 0;
            }
            else
            {
                result = ((value << count) | (source >> (bits - count))) & WidthMath.Mask(bits);
                carry = ((value >> (bits - count)) & 1) != 0;
            }

            cpu.SetResultFlags(bits, result, carry, MostSignificant(result, bits) != MostSignificant(value, bits));
            return result;
        }
    }

    /// <summary>SHRD: the destination shifted right, filled from the bottom of the source.</summary>
    private struct DoubleShiftRight : IShiftOperation
    {
        public static ulong Execute(Cpu cpu, ulong value, ulong source, int count, int bits)
        {
            ulong result;
            bool carry;
            if (bits == 16)
            {
                ulong pattern = (value << 32) | (source << 16) | value;
                result = (pattern >> count) & 0xFFFF;
                carry = ((pattern >> (count - 1)) & 1) != 0;
            }
            else
            {
                result = ((value >> count) | (source << (bits - count))) & WidthMath.Mask(bits);
                carry = ((value >> (count - 1)) & 1) != 0;
            }

            cpu.SetResultFlags(bits, result, carry, MostSignificant(result, bits) != MostSignificant(value, bits));
            return result;
        }
    }
}

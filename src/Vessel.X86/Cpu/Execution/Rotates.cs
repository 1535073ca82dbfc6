using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Execution;

/// <summary>
/// ROL, ROR, RCL and RCR (Intel SDM 2 "RCL/RCR/ROL/ROR"): only CF and OF change, OF is defined for one-bit rotates,
/// and a masked count of zero changes nothing. RCL/RCR rotate through CF, so 8- and 16-bit counts go mod 9 and 17.
/// </summary>
public static unsafe class Rotates
{
    public static void Register(HandlerTable table)
    {
        ShiftForms.Register<RotateLeft>(table, "Rol");
        ShiftForms.Register<RotateRight>(table, "Ror");
        ShiftForms.Register<RotateCarryLeft>(table, "Rcl");
        ShiftForms.Register<RotateCarryRight>(table, "Rcr");
    }

    private static bool Bit(ulong value, int index) => ((value >> index) & 1) != 0;

    private struct RotateLeft : IShiftOperation
    {
        public static ulong Execute(Cpu cpu, ulong value, ulong source, int count, int bits)
        {
            int rotate = count & (bits - 1);
            ulong result = rotate == 0 ? value : ((value << rotate) | (value >> (bits - rotate))) & WidthMath.Mask(bits);
            bool carry = (result & 1) != 0;
            cpu.SetCarryAndOverflow(carry, Bit(result, bits - 1) != carry);
            return result;
        }
    }

    private struct RotateRight : IShiftOperation
    {
        public static ulong Execute(Cpu cpu, ulong value, ulong source, int count, int bits)
        {
            int rotate = count & (bits - 1);
            ulong result = rotate == 0 ? value : ((value >> rotate) | (value << (bits - rotate))) & WidthMath.Mask(bits);
            cpu.SetCarryAndOverflow(Bit(result, bits - 1), Bit(result, bits - 1) != Bit(result, bits - 2));
            return result;
        }
    }

    private struct RotateCarryLeft : IShiftOperation
    {
        public static ulong Execute(Cpu cpu, ulong value, ulong source, int count, int bits)
        {
            int rotate = bits < 32 ? count % (bits + 1) : count;
            UInt128 wide = ((UInt128)(cpu.CarryFlag ? 1UL : 0UL) << bits) | value;
            if (rotate != 0)
            {
                UInt128 mask = (UInt128.One << (bits + 1)) - 1;
                wide = ((wide << rotate) | (wide >> (bits + 1 - rotate))) & mask;
            }

            ulong result = (ulong)wide & WidthMath.Mask(bits);
            bool carry = ((wide >> bits) & 1) != 0;
            cpu.SetCarryAndOverflow(carry, Bit(result, bits - 1) != carry);
            return result;
        }
    }

    private struct RotateCarryRight : IShiftOperation
    {
        public static ulong Execute(Cpu cpu, ulong value, ulong source, int count, int bits)
        {
            int rotate = bits < 32 ? count % (bits + 1) : count;
            UInt128 wide = ((UInt128)(cpu.CarryFlag ? 1UL : 0UL) << bits) | value;
            if (rotate != 0)
            {
                UInt128 mask = (UInt128.One << (bits + 1)) - 1;
                wide = ((wide >> rotate) | (wide << (bits + 1 - rotate))) & mask;
            }

            ulong result = (ulong)wide & WidthMath.Mask(bits);
            bool carry = ((wide >> bits) & 1) != 0;
            cpu.SetCarryAndOverflow(carry, Bit(result, bits - 1) != Bit(result, bits - 2));
            return result;
        }
    }
}

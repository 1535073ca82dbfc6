using System.Runtime.CompilerServices;
using Vessel.X86.Cpu.Fpu;

namespace Vessel.X86.Cpu.Execution.Simd;

/// <summary>
/// The common case of SSE arithmetic on the host's floating point: normal operands and a result far from underflow
/// and overflow, where DAZ, FTZ, U, O and D cannot matter. The host computes the round-to-nearest result r; an
/// error-free transformation (TwoSum, or the sign of an FMA residual) gives the sign of (exact − r), which decides the
/// precision flag and the one-ulp step the directed rounding modes need. Single precision goes through double, whose
/// extra bits make the double rounding innocuous (53 ≥ 2 × 24 + 2). Anything else returns false for <see cref="SoftFloat"/>.
/// </summary>
public static class FloatFastPath
{
    public const int Add = 0;
    public const int Subtract = 1;
    public const int Multiply = 2;
    public const int Divide = 3;
    public const int SquareRoot = 4;

    /// <summary>Biased exponents kept well inside the double range (2^-959 .. 2^960).</summary>
    private const ulong DoubleLow = 0x40;
    private const ulong DoubleSpan = 0x77F;

    /// <summary>Biased exponents kept well inside the single range (2^-111 .. 2^112).</summary>
    private const uint SingleLow = 0x10;
    private const uint SingleSpan = 0xDF;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryDouble(ulong a, ulong b, int operation, RoundingMode rounding, out ulong result, out bool inexact)
    {
        result = 0;
        inexact = false;
        if (((a >> 52) & 0x7FF) - DoubleLow > DoubleSpan || (operation != SquareRoot && ((b >> 52) & 0x7FF) - DoubleLow > DoubleSpan))
        {
            return false;
        }

        double x = BitConverter.UInt64BitsToDouble(a);
        double y = BitConverter.UInt64BitsToDouble(b);
        double r = Compute(x, y, operation, out int errorSign);
        ulong bits = BitConverter.DoubleToUInt64Bits(r);
        if (((bits >> 52) & 0x7FF) - DoubleLow > DoubleSpan)
        {
            return false;
        }

        inexact = errorSign != 0;
        result = Adjust(bits, r < 0, errorSign, rounding);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TrySingle(uint a, uint b, int operation, RoundingMode rounding, out uint result, out bool inexact)
    {
        result = 0;
        inexact = false;
        if (((a >> 23) & 0xFF) - SingleLow > SingleSpan || (operation != SquareRoot && ((b >> 23) & 0xFF) - SingleLow > SingleSpan))
        {
            return false;
        }

        double x = BitConverter.UInt32BitsToSingle(a);
        double y = BitConverter.UInt32BitsToSingle(b);
        double d = Compute(x, y, operation, out int doubleErrorSign);
        float f = (float)d;
        uint bits = BitConverter.SingleToUInt32Bits(f);
        if (((bits >> 23) & 0xFF) - SingleLow > SingleSpan)
        {
            return false;
        }

        // d − f is exact (Sterbenz) and a multiple of d's ulp, which exceeds the double rounding error, so it alone
        // gives the error's sign unless d is itself representable as a single.
        double difference = d - f;
        int errorSign = difference > 0 ? 1 : difference < 0 ? -1 : doubleErrorSign;
        inexact = errorSign != 0;
        result = (uint)Adjust(bits, f < 0, errorSign, rounding);
        return true;
    }

    /// <summary>The round-to-nearest result and the sign of (exact − result).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double Compute(double x, double y, int operation, out int errorSign)
    {
        double r;
        double error;
        switch (operation)
        {
            case Add:
            case Subtract:
                if (operation == Subtract)
                {
                    y = -y;
                }

                r = x + y;
                double yVirtual = r - x;
                error = (x - (r - yVirtual)) + (y - yVirtual);
                break;
            case Multiply:
                r = x * y;
                error = Math.FusedMultiplyAdd(x, y, -r);
                break;
            case Divide:
                r = x / y;
                double residual = Math.FusedMultiplyAdd(-r, y, x);
                error = y > 0 ? residual : -residual;
                break;
            default:
                r = Math.Sqrt(x);
                error = Math.FusedMultiplyAdd(-r, r, x);
                break;
        }

        errorSign = error > 0 ? 1 : error < 0 ? -1 : 0;
        return r;
    }

    /// <summary>Steps the round-to-nearest result one ulp when the rounding mode wants the other neighbour.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Adjust(ulong bits, bool negative, int errorSign, RoundingMode rounding)
    {
        if (errorSign == 0 || rounding == RoundingMode.NearestEven)
        {
            return bits;
        }

        // errorSign > 0: the exact value lies above the result, so rounding up (or, for a negative result, toward
        // zero) takes the next representable value above it. Bit patterns order magnitudes, whatever the sign.
        switch (rounding)
        {
            case RoundingMode.Up when errorSign > 0:
                return negative ? bits - 1 : bits + 1;
            case RoundingMode.Down when errorSign < 0:
                return negative ? bits + 1 : bits - 1;
            case RoundingMode.TowardZero when negative ? errorSign > 0 : errorSign < 0:
                return bits - 1;
        }

        return bits;
    }
}

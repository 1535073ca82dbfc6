using System.Runtime.CompilerServices;

namespace Vessel.X86.Cpu.Fpu;

/// <summary>
/// Correctly rounded IEEE 754 arithmetic in software for the three x86 formats, in every rounding mode, with the
/// exception conditions x86 reports (Intel SDM 1 §4.9): the host's own floating point cannot be told the guest's
/// rounding mode, DAZ or FTZ, and does not report inexact results to .NET. Intermediate results are exact 128-bit
/// significands with a sticky bit, rounded once by <see cref="RoundPack"/> (SoftFloat's shape). x86 detects tininess
/// after rounding (SDM 1 §4.9.1.5), as <see cref="RoundPack"/> does.
/// </summary>
public static class SoftFloat
{
    public static FloatParts Decode(ulong bits, in FloatFormat format, bool denormalsAreZero)
    {
        int fractionBits = format.FractionBits;
        ulong fraction = bits & ((1UL << fractionBits) - 1);
        int exponentMask = (1 << format.ExponentBits) - 1;
        int biased = (int)(bits >> fractionBits) & exponentMask;
        bool sign = ((bits >> (fractionBits + format.ExponentBits)) & 1) != 0;
        if (biased == exponentMask)
        {
            if (fraction == 0)
            {
                return FloatParts.Infinity(sign);
            }

            ulong payload = (fraction << (63 - fractionBits)) | (1UL << 63);
            bool quiet = (fraction >> (fractionBits - 1)) != 0;
            return new FloatParts { Sign = sign, Significand = payload, Class = quiet ? FloatClass.QuietNaN : FloatClass.SignalingNaN };
        }

        if (biased == 0)
        {
            if (fraction == 0 || denormalsAreZero)
            {
                return FloatParts.Zero(sign);
            }

            ulong significand = fraction << (63 - fractionBits);
            int shift = System.Numerics.BitOperations.LeadingZeroCount(significand);
            return new FloatParts
            {
                Sign = sign,
                Class = FloatClass.Finite,
                Significand = significand << shift,
                Exponent = format.MinimumExponent - shift,
                Denormal = true,
            };
        }

        return new FloatParts
        {
            Sign = sign,
            Class = FloatClass.Finite,
            Significand = (1UL << 63) | (fraction << (63 - fractionBits)),
            Exponent = biased - format.Bias,
        };
    }

    public static ulong Encode(in FloatParts value, in FloatFormat format)
    {
        int fractionBits = format.FractionBits;
        ulong fractionMask = (1UL << fractionBits) - 1;
        ulong exponentMask = (1UL << format.ExponentBits) - 1;
        ulong sign = value.Sign ? 1UL << (fractionBits + format.ExponentBits) : 0;
        switch (value.Class)
        {
            case FloatClass.Zero:
                return sign;
            case FloatClass.Infinity:
                return sign | (exponentMask << fractionBits);
            case FloatClass.Finite:
                if (value.Exponent >= format.MinimumExponent)
                {
                    return sign | ((ulong)(value.Exponent + format.Bias) << fractionBits) | ((value.Significand >> (63 - fractionBits)) & fractionMask);
                }

                int shift = format.MinimumExponent - value.Exponent + 63 - fractionBits;
                return sign | (shift >= 64 ? 0 : value.Significand >> shift);
            default:
                return sign | (exponentMask << fractionBits) | ((value.Significand >> (63 - fractionBits)) & fractionMask);
        }
    }

    /// <summary>Unpacks an 80-bit value: <paramref name="significand"/> with its explicit integer bit, and sign/exponent.</summary>
    public static FloatParts DecodeExtended(ulong significand, ushort signExponent)
    {
        bool sign = (signExponent & 0x8000) != 0;
        int biased = signExponent & 0x7FFF;
        bool integer = (significand >> 63) != 0;
        if (biased == 0x7FFF)
        {
            if (!integer)
            {
                return new FloatParts { Sign = sign, Class = FloatClass.Unsupported };
            }

            if ((significand << 1) == 0)
            {
                return FloatParts.Infinity(sign);
            }

            bool quiet = ((significand >> 62) & 1) != 0;
            return new FloatParts { Sign = sign, Significand = significand, Class = quiet ? FloatClass.QuietNaN : FloatClass.SignalingNaN };
        }

        if (biased == 0)
        {
            if (significand == 0)
            {
                return FloatParts.Zero(sign);
            }

            // Denormals, and pseudo-denormals (integer bit set), which the x87 reads with the minimum exponent (SDM 1 §8.2.2).
            int shift = System.Numerics.BitOperations.LeadingZeroCount(significand);
            return new FloatParts
            {
                Sign = sign,
                Class = FloatClass.Finite,
                Significand = significand << shift,
                Exponent = FloatFormat.Extended.MinimumExponent - shift,
                Denormal = true,
            };
        }

        if (!integer)
        {
            return new FloatParts { Sign = sign, Class = FloatClass.Unsupported };
        }

        return new FloatParts { Sign = sign, Class = FloatClass.Finite, Significand = significand, Exponent = biased - 16383 };
    }

    public static (ulong Significand, ushort SignExponent) EncodeExtended(in FloatParts value)
    {
        ushort sign = value.Sign ? (ushort)0x8000 : (ushort)0;
        switch (value.Class)
        {
            case FloatClass.Zero:
                return (0, sign);
            case FloatClass.Infinity:
                return (1UL << 63, (ushort)(sign | 0x7FFF));
            case FloatClass.Finite:
                if (value.Exponent >= FloatFormat.Extended.MinimumExponent)
                {
                    return (value.Significand, (ushort)(sign | (value.Exponent + 16383)));
                }

                int shift = FloatFormat.Extended.MinimumExponent - value.Exponent;
                return (shift >= 64 ? 0 : value.Significand >> shift, sign);
            default:
                return (value.Significand | (1UL << 63), (ushort)(sign | 0x7FFF));
        }
    }

    /// <summary>
    /// Rounds sign × <paramref name="significand"/> × 2^(<paramref name="exponent"/> − 127) to <paramref name="format"/>
    /// (Intel SDM 1 §4.8.4), raising P, U, O as x86 does and flushing tiny results to zero under FTZ.
    /// </summary>
    public static FloatParts RoundPack(bool sign, int exponent, UInt128 significand, in FloatFormat format, ref FloatEnvironment environment)
    {
        if (significand == UInt128.Zero)
        {
            return FloatParts.Zero(sign);
        }

        int leading = (int)UInt128.LeadingZeroCount(significand);
        significand <<= leading;
        exponent -= leading;
        int precision = format.Precision;
        int dropped = 128 - precision;
        var rounding = environment.Rounding;

        if (exponent < format.MinimumExponent)
        {
            // Tininess after rounding: is the result, rounded to the precision with an unbounded exponent, below 2^Emin?
            bool tiny = true;
            if (exponent == format.MinimumExponent - 1)
            {
                RoundAt(sign, significand, dropped, precision, rounding, out _, out bool carried, out _);
                tiny = !carried;
            }

            if (tiny && environment.FlushToZero)
            {
                environment.Flags |= FloatExceptions.Underflow | FloatExceptions.Precision;
                return FloatParts.Zero(sign);
            }

            significand = ShiftRightJam(significand, format.MinimumExponent - exponent);
            exponent = format.MinimumExponent;
            ulong kept = RoundAt(sign, significand, dropped, precision, rounding, out bool inexact, out _, out bool up);
            if (up)
            {
                environment.Flags |= FloatExceptions.RoundedUp;
            }

            if (inexact)
            {
                environment.Flags |= FloatExceptions.Precision | (tiny ? FloatExceptions.Underflow : 0);
            }
            else if (tiny)
            {
                environment.Flags |= FloatExceptions.TinyExact;
            }

            if (kept == 0)
            {
                return FloatParts.Zero(sign);
            }

            ulong aligned = kept << (64 - precision);
            int shift = System.Numerics.BitOperations.LeadingZeroCount(aligned);
            return new FloatParts { Sign = sign, Class = FloatClass.Finite, Significand = aligned << shift, Exponent = exponent - shift };
        }

        ulong result = RoundAt(sign, significand, dropped, precision, rounding, out bool wasInexact, out bool carry, out bool roundedUp);
        if (roundedUp)
        {
            environment.Flags |= FloatExceptions.RoundedUp;
        }

        if (carry)
        {
            exponent++;
        }

        if (wasInexact)
        {
            environment.Flags |= FloatExceptions.Precision;
        }

        if (exponent > format.MaximumExponent)
        {
            environment.Flags |= FloatExceptions.Overflow | FloatExceptions.Precision;
            bool toInfinity = rounding == RoundingMode.NearestEven
                || (rounding == RoundingMode.Up && !sign) || (rounding == RoundingMode.Down && sign);
            environment.Flags = toInfinity ? environment.Flags | FloatExceptions.RoundedUp : environment.Flags & ~FloatExceptions.RoundedUp;
            return toInfinity
                ? FloatParts.Infinity(sign)
                : new FloatParts { Sign = sign, Class = FloatClass.Finite, Exponent = format.MaximumExponent, Significand = ulong.MaxValue << (64 - precision) };
        }

        return new FloatParts { Sign = sign, Class = FloatClass.Finite, Significand = result << (64 - precision), Exponent = exponent };
    }

    /// <summary>
    /// Keeps the top <paramref name="precision"/> bits, rounded by <paramref name="rounding"/>. On a carry out the kept
    /// value is renormalized to 2^(precision−1) and <paramref name="carry"/> says the exponent must grow by one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong RoundAt(bool sign, UInt128 significand, int dropped, int precision, RoundingMode rounding, out bool inexact, out bool carry, out bool roundedUp)
    {
        ulong kept = (ulong)(significand >> dropped);
        UInt128 rest = significand & ((UInt128.One << dropped) - 1);
        UInt128 half = UInt128.One << (dropped - 1);
        inexact = rest != UInt128.Zero;
        roundedUp = rounding switch
        {
            RoundingMode.NearestEven => rest > half || (rest == half && (kept & 1) != 0),
            RoundingMode.Down => inexact && sign,
            RoundingMode.Up => inexact && !sign,
            _ => false,
        };
        carry = false;
        if (roundedUp)
        {
            kept++;
            if (precision == 64 ? kept == 0 : (kept >> precision) != 0)
            {
                kept = 1UL << (precision - 1);
                carry = true;
            }
        }

        return kept;
    }

    public static UInt128 ShiftRightJam(UInt128 value, int count)
    {
        if (count <= 0)
        {
            return value;
        }

        if (count >= 128)
        {
            return value != UInt128.Zero ? UInt128.One : UInt128.Zero;
        }

        UInt128 lost = value & ((UInt128.One << count) - 1);
        return (value >> count) | (lost != UInt128.Zero ? UInt128.One : UInt128.Zero);
    }

    /// <summary>a + b (or a − b) for non-NaN operands; ∞ − ∞ is invalid and gives the indefinite.</summary>
    public static FloatParts Add(FloatParts a, FloatParts b, bool subtract, in FloatFormat format, ref FloatEnvironment environment)
    {
        if (subtract)
        {
            b.Sign = !b.Sign;
        }

        if (a.Class == FloatClass.Infinity || b.Class == FloatClass.Infinity)
        {
            if (a.Class == FloatClass.Infinity && b.Class == FloatClass.Infinity && a.Sign != b.Sign)
            {
                environment.Flags |= FloatExceptions.Invalid;
                return FloatParts.Indefinite;
            }

            return FloatParts.Infinity(a.Class == FloatClass.Infinity ? a.Sign : b.Sign);
        }

        if (a.Class == FloatClass.Zero && b.Class == FloatClass.Zero)
        {
            // SDM 1 §4.8.3.8: the sum of opposite zeros is +0, except −0 when rounding down.
            return FloatParts.Zero(a.Sign == b.Sign ? a.Sign : environment.Rounding == RoundingMode.Down);
        }

        if (a.Class == FloatClass.Zero)
        {
            return RoundPack(b.Sign, b.Exponent, (UInt128)b.Significand << 64, format, ref environment);
        }

        if (b.Class == FloatClass.Zero)
        {
            return RoundPack(a.Sign, a.Exponent, (UInt128)a.Significand << 64, format, ref environment);
        }

        if (a.Exponent < b.Exponent)
        {
            (a, b) = (b, a);
        }

        UInt128 large = (UInt128)a.Significand << 63;
        UInt128 small = ShiftRightJam((UInt128)b.Significand << 63, a.Exponent - b.Exponent);
        if (a.Sign == b.Sign)
        {
            return RoundPack(a.Sign, a.Exponent + 1, large + small, format, ref environment);
        }

        if (large == small)
        {
            return FloatParts.Zero(environment.Rounding == RoundingMode.Down);
        }

        return large > small
            ? RoundPack(a.Sign, a.Exponent + 1, large - small, format, ref environment)
            : RoundPack(b.Sign, a.Exponent + 1, small - large, format, ref environment);
    }

    public static FloatParts Multiply(in FloatParts a, in FloatParts b, in FloatFormat format, ref FloatEnvironment environment)
    {
        bool sign = a.Sign != b.Sign;
        if (a.Class == FloatClass.Infinity || b.Class == FloatClass.Infinity)
        {
            if (a.Class == FloatClass.Zero || b.Class == FloatClass.Zero)
            {
                environment.Flags |= FloatExceptions.Invalid;
                return FloatParts.Indefinite;
            }

            return FloatParts.Infinity(sign);
        }

        if (a.Class == FloatClass.Zero || b.Class == FloatClass.Zero)
        {
            return FloatParts.Zero(sign);
        }

        UInt128 product = (UInt128)a.Significand * b.Significand;
        return RoundPack(sign, a.Exponent + b.Exponent + 1, product, format, ref environment);
    }

    public static FloatParts Divide(in FloatParts a, in FloatParts b, in FloatFormat format, ref FloatEnvironment environment)
    {
        bool sign = a.Sign != b.Sign;
        if (a.Class == FloatClass.Infinity)
        {
            if (b.Class == FloatClass.Infinity)
            {
                environment.Flags |= FloatExceptions.Invalid;
                return FloatParts.Indefinite;
            }

            return FloatParts.Infinity(sign);
        }

        if (b.Class == FloatClass.Infinity)
        {
            return FloatParts.Zero(sign);
        }

        if (b.Class == FloatClass.Zero)
        {
            if (a.Class == FloatClass.Zero)
            {
                environment.Flags |= FloatExceptions.Invalid;
                return FloatParts.Indefinite;
            }

            environment.Flags |= FloatExceptions.DivideByZero;
            return FloatParts.Infinity(sign);
        }

        if (a.Class == FloatClass.Zero)
        {
            return FloatParts.Zero(sign);
        }

        int shift = a.Significand >= b.Significand ? 63 : 64;
        UInt128 numerator = (UInt128)a.Significand << shift;
        UInt128 high = numerator / b.Significand;
        UInt128 remainder = numerator - (high * b.Significand);
        UInt128 next = remainder << 64;
        UInt128 low = next / b.Significand;
        UInt128 finalRemainder = next - (low * b.Significand);
        UInt128 quotient = (high << 64) | low | (finalRemainder != UInt128.Zero ? UInt128.One : UInt128.Zero);
        return RoundPack(sign, a.Exponent - b.Exponent + 63 - shift, quotient, format, ref environment);
    }

    public static FloatParts SquareRoot(in FloatParts a, in FloatFormat format, ref FloatEnvironment environment)
    {
        if (a.Class == FloatClass.Zero)
        {
            return a;
        }

        if (a.Sign)
        {
            environment.Flags |= FloatExceptions.Invalid;
            return FloatParts.Indefinite;
        }

        if (a.Class == FloatClass.Infinity)
        {
            return a;
        }

        int power = a.Exponent - 63;
        int shift = (power & 1) == 0 ? 64 : 63;
        UInt128 radicand = (UInt128)a.Significand << shift;
        ulong root = IntegerSquareRoot(radicand);
        UInt128 remainder = radicand - ((UInt128)root * root);
        bool aboveHalf = remainder > root;
        UInt128 significand = ((UInt128)root << 2) | (aboveHalf ? 2u : 0u) | (remainder != UInt128.Zero ? 1u : 0u);
        return RoundPack(false, ((power - shift) / 2) + 125, significand, format, ref environment);
    }

    /// <summary>floor(√n) for n &lt; 2^128.</summary>
    public static ulong IntegerSquareRoot(UInt128 n)
    {
        double estimate = Math.Sqrt((double)n);
        ulong root = estimate >= 18446744073709551615.0 ? ulong.MaxValue : (ulong)estimate;
        if (root != 0)
        {
            UInt128 refined = ((UInt128)root + (n / root)) >> 1;
            root = refined > ulong.MaxValue ? ulong.MaxValue : (ulong)refined;
        }

        while ((UInt128)root * root > n)
        {
            root--;
        }

        while (root != ulong.MaxValue && (UInt128)(root + 1) * (root + 1) <= n)
        {
            root++;
        }

        return root;
    }

    /// <summary>Exact conversion of an integer magnitude, rounded to the format.</summary>
    public static FloatParts FromInteger(bool negative, ulong magnitude, in FloatFormat format, ref FloatEnvironment environment) =>
        RoundPack(negative, 127, magnitude, format, ref environment);

    public static FloatParts FromSigned(long value, in FloatFormat format, ref FloatEnvironment environment) =>
        FromInteger(value < 0, value < 0 ? (ulong)-value : (ulong)value, format, ref environment);

    /// <summary>Rounds a finite or zero value to the format (conversions between formats, x87 stores, FRNDINT's precision).</summary>
    public static FloatParts Round(in FloatParts value, in FloatFormat format, ref FloatEnvironment environment) =>
        value.Class == FloatClass.Finite
            ? RoundPack(value.Sign, value.Exponent, (UInt128)value.Significand << 64, format, ref environment)
            : value;

    /// <summary>
    /// Converts to a signed integer of <paramref name="bits"/> bits in <paramref name="rounding"/>; NaN, infinity and
    /// out-of-range values are invalid and give the integer indefinite, 1 followed by zeros (Intel SDM 1 §4.8.3.7).
    /// </summary>
    public static long ToInteger(in FloatParts value, int bits, RoundingMode rounding, ref FloatEnvironment environment)
    {
        long indefinite = bits == 64 ? long.MinValue : -(1L << (bits - 1));
        switch (value.Class)
        {
            case FloatClass.Zero:
                return 0;
            case FloatClass.Finite:
                break;
            default:
                environment.Flags |= FloatExceptions.Invalid;
                return bits == 64 ? indefinite : indefinite & ((1L << bits) - 1);
        }

        if (value.Exponent >= 64)
        {
            environment.Flags |= FloatExceptions.Invalid;
            return bits == 64 ? indefinite : indefinite & ((1L << bits) - 1);
        }

        UInt128 fixedPoint = ShiftRightJam((UInt128)value.Significand << 64, 63 - value.Exponent);

        ulong integer = (ulong)(fixedPoint >> 64);
        ulong fraction = (ulong)fixedPoint;
        bool up = rounding switch
        {
            RoundingMode.NearestEven => fraction > (1UL << 63) || (fraction == (1UL << 63) && (integer & 1) != 0),
            RoundingMode.Down => fraction != 0 && value.Sign,
            RoundingMode.Up => fraction != 0 && !value.Sign,
            _ => false,
        };
        bool overflow = false;
        if (up)
        {
            integer++;
            overflow = integer == 0;
        }

        ulong limit = value.Sign ? 1UL << (bits - 1) : (1UL << (bits - 1)) - 1;
        if (overflow || integer > limit)
        {
            environment.Flags |= FloatExceptions.Invalid;
            return bits == 64 ? indefinite : indefinite & ((1L << bits) - 1);
        }

        if (fraction != 0)
        {
            environment.Flags |= FloatExceptions.Precision;
        }

        long result = value.Sign ? -(long)integer : (long)integer;
        return bits == 64 ? result : result & ((1L << bits) - 1);
    }

    /// <summary>Orders two non-NaN values: −1, 0 or 1 (zeros of either sign are equal).</summary>
    public static int Compare(in FloatParts a, in FloatParts b)
    {
        if (a.Class == FloatClass.Zero && b.Class == FloatClass.Zero)
        {
            return 0;
        }

        if (a.Sign != b.Sign)
        {
            return a.Sign ? -1 : 1;
        }

        int magnitude = CompareMagnitude(a, b);
        return a.Sign ? -magnitude : magnitude;
    }

    private static int CompareMagnitude(in FloatParts a, in FloatParts b)
    {
        int rankA = a.Class switch { FloatClass.Zero => 0, FloatClass.Finite => 1, _ => 2 };
        int rankB = b.Class switch { FloatClass.Zero => 0, FloatClass.Finite => 1, _ => 2 };
        if (rankA != rankB || rankA != 1)
        {
            return rankA.CompareTo(rankB);
        }

        if (a.Exponent != b.Exponent)
        {
            return a.Exponent.CompareTo(b.Exponent);
        }

        return a.Significand.CompareTo(b.Significand);
    }
}

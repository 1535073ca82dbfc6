using Iced.Intel;
using Vessel.X86.Cpu.Decoding;
using Vessel.X86.Cpu.Fpu;

namespace Vessel.X86.Cpu.Execution.X87;

/// <summary>
/// x87 transcendental instructions (Intel SDM 1 §8.3.9): FSIN, FCOS, FSINCOS, FPTAN, FPATAN, F2XM1, FYL2X, FYL2XP1.
/// They are computed in double precision on the host (about 53 significant bits, not the 64 of Intel's microcode;
/// see docs/cpu.md), with the x87's special cases, C2 for out-of-range arguments (|x| ≥ 2^63), and the precision
/// exception for every inexact result.
/// </summary>
public static unsafe class X87Transcendental
{
    private const int RangeExponent = 63;

    public static void Register(HandlerTable table)
    {
        table.Add(Code.Fsin, &Sine);
        table.Add(Code.Fcos, &Cosine);
        table.Add(Code.Fsincos, &SineCosine);
        table.Add(Code.Fptan, &PartialTangent);
        table.Add(Code.Fpatan, &PartialArctangent);
        table.Add(Code.F2xm1, &TwoToXMinusOne);
        table.Add(Code.Fyl2x, &YLog2X);
        table.Add(Code.Fyl2xp1, &YLog2XPlusOne);
    }

    /// <summary>Checks ST(0) (and ST(1) when <paramref name="two"/>) for underflow; false after the masked response.</summary>
    private static bool TryOperands(Cpu cpu, DecodedInstruction* instruction, bool two)
    {
        if (!X87Stack.Begin(cpu, instruction))
        {
            return false;
        }

        var fpu = cpu.Fpu;
        if (X87Stack.IsEmpty(fpu, 0) || (two && X87Stack.IsEmpty(fpu, 1)))
        {
            X87Stack.StackFault(cpu, overflow: false);
            if (X87Stack.InvalidMasked(fpu))
            {
                X87Stack.Write(fpu, two ? 1 : 0, FloatParts.Indefinite);
                if (two)
                {
                    X87Stack.Pop(fpu);
                }
            }

            return false;
        }

        return true;
    }

    /// <summary>Handles NaN, unsupported and denormal operands; true (with <paramref name="special"/>) when the result is decided.</summary>
    private static bool Special(in FloatParts a, in FloatParts b, ref FloatEnvironment environment, out FloatParts special)
    {
        if (a.Class == FloatClass.Unsupported || b.Class == FloatClass.Unsupported)
        {
            environment.Flags |= FloatExceptions.Invalid;
            special = FloatParts.Indefinite;
            return true;
        }

        if (a.IsNaN || b.IsNaN)
        {
            special = X87Stack.PropagateNaN(a, b, ref environment);
            return true;
        }

        if (a.Denormal || b.Denormal)
        {
            environment.Flags |= FloatExceptions.Denormal;
        }

        special = default;
        return false;
    }

    /// <summary>A host double result rounded into the x87 format, with P set when it is not exact.</summary>
    private static FloatParts FromHost(double value, ref FloatEnvironment environment, bool exact = false)
    {
        if (!exact && value != 0 && double.IsFinite(value))
        {
            environment.Flags |= FloatExceptions.Precision;
        }

        return X87Stack.FromDouble(value);
    }

    private static bool OutOfRange(in FloatParts value) => value.Class == FloatClass.Finite && value.Exponent >= RangeExponent;

    /// <summary>
    /// π rounded to 66 bits, the value the x87 reduces trigonometric arguments with (Intel SDM 1 §8.3.10), split into
    /// a double and the small remainder: Math.PI is π rounded to 53 bits, and 0xC90FDAA22168C234C is π × 2^66.
    /// </summary>
    private static readonly double PiLow = (double)((Int128)(UInt128.Parse("C90FDAA22168C234C", System.Globalization.NumberStyles.HexNumber)
        - ((UInt128)(BitConverter.DoubleToUInt64Bits(Math.PI) & 0xF_FFFF_FFFF_FFFF | (1UL << 52)) << 15))) / Math.Pow(2, 66);

    /// <summary>
    /// Reduces x by multiples of π/2 in double-double arithmetic, so the reduced argument keeps double precision even
    /// when x is large: x = k × π/2 + r, |r| ≤ π/4, and the quadrant is k mod 4.
    /// </summary>
    private static double Reduce(in FloatParts x, out int quadrant)
    {
        double high = X87Stack.ToDouble(x);
        var scratch = default(FloatEnvironment);
        double low = X87Stack.ToDouble(SoftFloat.Add(x, X87Stack.FromDouble(high), true, FloatFormat.Extended, ref scratch));
        double halfPiHigh = Math.PI / 2;
        double halfPiLow = PiLow / 2;
        double k = Math.Round(high / halfPiHigh);
        double reduced = Math.FusedMultiplyAdd(-k, halfPiHigh, high);
        reduced = Math.FusedMultiplyAdd(-k, halfPiLow, reduced) + low;
        quadrant = (int)((long)k & 3);
        return reduced;
    }

    private static double SineOf(in FloatParts x)
    {
        double r = Reduce(x, out int quadrant);
        return quadrant switch { 0 => Math.Sin(r), 1 => Math.Cos(r), 2 => -Math.Sin(r), _ => -Math.Cos(r) };
    }

    private static double CosineOf(in FloatParts x)
    {
        double r = Reduce(x, out int quadrant);
        return quadrant switch { 0 => Math.Cos(r), 1 => -Math.Sin(r), 2 => -Math.Cos(r), _ => Math.Sin(r) };
    }

    private static double TangentOf(in FloatParts x)
    {
        double r = Reduce(x, out int quadrant);
        return (quadrant & 1) == 0 ? Math.Tan(r) : -1 / Math.Tan(r);
    }

    private static void Sine(Cpu cpu, DecodedInstruction* instruction) => Trigonometric(cpu, instruction, cosine: false);

    private static void Cosine(Cpu cpu, DecodedInstruction* instruction) => Trigonometric(cpu, instruction, cosine: true);

    private static void Trigonometric(Cpu cpu, DecodedInstruction* instruction, bool cosine)
    {
        if (!TryOperands(cpu, instruction, two: false))
        {
            return;
        }

        var fpu = cpu.Fpu;
        var x = X87Stack.Read(fpu, 0);
        if (OutOfRange(x))
        {
            X87Stack.SetConditionCodes(fpu, false, true, false, false);
            return;
        }

        var environment = X87Stack.Environment(fpu);
        FloatParts result;
        if (!Special(x, x, ref environment, out result))
        {
            if (x.Class == FloatClass.Infinity)
            {
                environment.Flags |= FloatExceptions.Invalid;
                result = FloatParts.Indefinite;
            }
            else if (x.Class == FloatClass.Zero)
            {
                result = cosine ? X87Stack.FromDouble(1.0) : x;
            }
            else
            {
                result = FromHost(cosine ? CosineOf(x) : SineOf(x), ref environment);
            }
        }

        if (X87Stack.Commit(cpu, environment.Flags))
        {
            X87Stack.Write(fpu, 0, result);
            fpu->StatusWord &= unchecked((ushort)~X87StatusWord.C2);
        }
    }

    /// <summary>FSINCOS: ST(0) becomes the sine, then the cosine is pushed.</summary>
    private static void SineCosine(Cpu cpu, DecodedInstruction* instruction) => TwoResults(cpu, instruction, tangent: false);

    /// <summary>FPTAN: ST(0) becomes the tangent, then 1.0 is pushed.</summary>
    private static void PartialTangent(Cpu cpu, DecodedInstruction* instruction) => TwoResults(cpu, instruction, tangent: true);

    private static void TwoResults(Cpu cpu, DecodedInstruction* instruction, bool tangent)
    {
        if (!TryOperands(cpu, instruction, two: false))
        {
            return;
        }

        // A stack overflow takes precedence over an out-of-range argument (checked against the host).
        var fpu = cpu.Fpu;
        if (!X87Stack.IsEmpty(fpu, 7))
        {
            X87Stack.StackFault(cpu, overflow: true);
            if (X87Stack.InvalidMasked(fpu))
            {
                X87Stack.Write(fpu, 0, FloatParts.Indefinite);
                fpu->Top = (fpu->Top - 1) & 7;
                X87Stack.Write(fpu, 0, FloatParts.Indefinite);
            }

            return;
        }

        var x = X87Stack.Read(fpu, 0);
        if (OutOfRange(x))
        {
            X87Stack.SetConditionCodes(fpu, false, true, false, false);
            return;
        }

        var environment = X87Stack.Environment(fpu);
        FloatParts first;
        FloatParts second;
        if (Special(x, x, ref environment, out first))
        {
            second = first;
        }
        else if (x.Class == FloatClass.Infinity)
        {
            environment.Flags |= FloatExceptions.Invalid;
            first = FloatParts.Indefinite;
            second = first;
        }
        else if (x.Class == FloatClass.Zero)
        {
            first = x;
            second = X87Stack.FromDouble(1.0);
        }
        else
        {
            first = FromHost(tangent ? TangentOf(x) : SineOf(x), ref environment);
            second = tangent ? X87Stack.FromDouble(1.0) : FromHost(CosineOf(x), ref environment);
        }

        if (X87Stack.Commit(cpu, environment.Flags))
        {
            X87Stack.Write(fpu, 0, first);
            fpu->Top = (fpu->Top - 1) & 7;
            X87Stack.Write(fpu, 0, second);
            fpu->StatusWord &= unchecked((ushort)~X87StatusWord.C2);
        }
    }

    /// <summary>The common shape of FPATAN, FYL2X, FYL2XP1: ST(1) = f(ST(1), ST(0)), then pop.</summary>
    private static void Binary(Cpu cpu, DecodedInstruction* instruction, delegate*<in FloatParts, in FloatParts, ref FloatEnvironment, FloatParts> operation)
    {
        if (!TryOperands(cpu, instruction, two: true))
        {
            return;
        }

        var fpu = cpu.Fpu;
        var x = X87Stack.Read(fpu, 0);
        var y = X87Stack.Read(fpu, 1);
        var environment = X87Stack.Environment(fpu);
        var result = Special(y, x, ref environment, out var special) ? special : operation(y, x, ref environment);
        if (X87Stack.Commit(cpu, environment.Flags))
        {
            X87Stack.Write(fpu, 1, result);
            X87Stack.Pop(fpu);
        }
    }

    private static void PartialArctangent(Cpu cpu, DecodedInstruction* instruction) => Binary(cpu, instruction, &ArctangentOf);

    /// <summary>FPATAN: atan2(ST(1), ST(0)), whose IEEE special cases (signed zeros, infinities) match SDM 2 FPATAN, "FPATAN Results".</summary>
    private static FloatParts ArctangentOf(in FloatParts y, in FloatParts x, ref FloatEnvironment environment) =>
        FromHost(Math.Atan2(X87Stack.ToDouble(y), X87Stack.ToDouble(x)), ref environment, exact: y.Class == FloatClass.Zero);

    private static void YLog2X(Cpu cpu, DecodedInstruction* instruction) => Binary(cpu, instruction, &YLog2XOf);

    /// <summary>FYL2X: ST(1) × log2(ST(0)); negative x is invalid, x = 0 divides by zero (SDM 2 FYL2X, "FYL2X Results").</summary>
    private static FloatParts YLog2XOf(in FloatParts y, in FloatParts x, ref FloatEnvironment environment)
    {
        if (x.Sign && x.Class != FloatClass.Zero)
        {
            environment.Flags |= FloatExceptions.Invalid;
            return FloatParts.Indefinite;
        }

        if (x.Class == FloatClass.Zero)
        {
            if (y.Class == FloatClass.Zero)
            {
                environment.Flags |= FloatExceptions.Invalid;
                return FloatParts.Indefinite;
            }

            if (y.Class == FloatClass.Finite)
            {
                environment.Flags |= FloatExceptions.DivideByZero;
            }

            return FloatParts.Infinity(!y.Sign);
        }

        double log = Log2Of(x);
        if (log == 0 && y.Class == FloatClass.Infinity)
        {
            environment.Flags |= FloatExceptions.Invalid;
            return FloatParts.Indefinite;
        }

        if (x.Class == FloatClass.Infinity && y.Class == FloatClass.Zero)
        {
            environment.Flags |= FloatExceptions.Invalid;
            return FloatParts.Indefinite;
        }

        return FromHost(X87Stack.ToDouble(y) * log, ref environment, exact: log == 0 || y.Class == FloatClass.Zero);
    }

    /// <summary>log2(x) without losing the bits of x beyond a double: near 1 through log1p of the exact x − 1.</summary>
    private static double Log2Of(in FloatParts x)
    {
        if (x.Class != FloatClass.Finite)
        {
            return Math.Log2(X87Stack.ToDouble(x));
        }

        var scratch = default(FloatEnvironment);
        double minusOne = X87Stack.ToDouble(SoftFloat.Add(x, X87Stack.FromDouble(1.0), true, FloatFormat.Extended, ref scratch));
        if (Math.Abs(minusOne) < 0.5)
        {
            return LogOnePlus(minusOne) / Math.Log(2.0);
        }

        double high = X87Stack.ToDouble(x);
        double low = X87Stack.ToDouble(SoftFloat.Add(x, X87Stack.FromDouble(high), true, FloatFormat.Extended, ref scratch));
        return Math.Log2(high) + (low / (high * Math.Log(2.0)));
    }

    private static void YLog2XPlusOne(Cpu cpu, DecodedInstruction* instruction) => Binary(cpu, instruction, &YLog2XPlusOneOf);

    /// <summary>FYL2XP1: ST(1) × log2(ST(0) + 1) for |ST(0)| &lt; 1 − √2/2, accurate near zero through log1p.</summary>
    private static FloatParts YLog2XPlusOneOf(in FloatParts y, in FloatParts x, ref FloatEnvironment environment)
    {
        if ((x.Class == FloatClass.Zero && y.Class == FloatClass.Infinity) || (x.Class == FloatClass.Infinity && y.Class == FloatClass.Zero))
        {
            environment.Flags |= FloatExceptions.Invalid;
            return FloatParts.Indefinite;
        }

        double value = X87Stack.ToDouble(x);
        double log = LogOnePlus(value) / Math.Log(2.0);
        return FromHost(X87Stack.ToDouble(y) * log, ref environment, exact: x.Class == FloatClass.Zero || y.Class == FloatClass.Zero);
    }

    /// <summary>ln(1 + x) without the cancellation of computing 1 + x first (the classic correction by (u − 1)).</summary>
    private static double LogOnePlus(double x)
    {
        double u = 1.0 + x;
        return u == 1.0 ? x : Math.Log(u) * x / (u - 1.0);
    }

    private static void TwoToXMinusOne(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!TryOperands(cpu, instruction, two: false))
        {
            return;
        }

        var fpu = cpu.Fpu;
        var x = X87Stack.Read(fpu, 0);
        var environment = X87Stack.Environment(fpu);
        FloatParts result;
        if (!Special(x, x, ref environment, out result))
        {
            result = x.Class switch
            {
                FloatClass.Zero => x,
                FloatClass.Infinity => x.Sign ? X87Stack.FromDouble(-1.0) : x,
                _ => FromHost(TwoToXMinusOneOf(X87Stack.ToDouble(x)), ref environment),
            };
        }

        if (X87Stack.Commit(cpu, environment.Flags))
        {
            X87Stack.Write(fpu, 0, result);
        }
    }

    /// <summary>2^x − 1 = e^(x ln 2) − 1 without cancellation near zero (Kahan's expm1: (u − 1) × t / ln u).</summary>
    private static double TwoToXMinusOneOf(double x)
    {
        double t = x * Math.Log(2.0);
        double u = Math.Exp(t);
        if (u == 1.0)
        {
            return t;
        }

        double um1 = u - 1.0;
        return um1 == -1.0 ? -1.0 : um1 * t / Math.Log(u);
    }
}

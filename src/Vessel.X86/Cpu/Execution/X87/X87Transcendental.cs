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
                double value = X87Stack.ToDouble(x);
                result = FromHost(cosine ? Math.Cos(value) : Math.Sin(value), ref environment);
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

        var fpu = cpu.Fpu;
        var x = X87Stack.Read(fpu, 0);
        if (OutOfRange(x))
        {
            X87Stack.SetConditionCodes(fpu, false, true, false, false);
            return;
        }

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
            double value = X87Stack.ToDouble(x);
            first = FromHost(tangent ? Math.Tan(value) : Math.Sin(value), ref environment);
            second = tangent ? X87Stack.FromDouble(1.0) : FromHost(Math.Cos(value), ref environment);
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

    /// <summary>FPATAN: atan2(ST(1), ST(0)), whose IEEE special cases (signed zeros, infinities) match SDM 2 FPATAN Table 3-30.</summary>
    private static FloatParts ArctangentOf(in FloatParts y, in FloatParts x, ref FloatEnvironment environment) =>
        FromHost(Math.Atan2(X87Stack.ToDouble(y), X87Stack.ToDouble(x)), ref environment, exact: y.Class == FloatClass.Zero);

    private static void YLog2X(Cpu cpu, DecodedInstruction* instruction) => Binary(cpu, instruction, &YLog2XOf);

    /// <summary>FYL2X: ST(1) × log2(ST(0)); negative x is invalid, x = 0 divides by zero (SDM 2 FYL2X Table 3-49).</summary>
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

        double log = Math.Log2(X87Stack.ToDouble(x));
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

    /// <summary>2^x − 1 = e^(x ln 2) − 1, through a series near zero where Exp2(x) − 1 would cancel.</summary>
    private static double TwoToXMinusOneOf(double x)
    {
        double t = x * Math.Log(2.0);
        if (Math.Abs(t) < 1e-5)
        {
            return t * (1 + (t * (0.5 + (t / 6))));
        }

        return Math.Exp(t) - 1;
    }
}

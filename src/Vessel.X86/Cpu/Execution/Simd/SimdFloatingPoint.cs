using System.Runtime.Intrinsics;
using Iced.Intel;
using Vessel.X86.Cpu.Decoding;
using Vessel.X86.Cpu.Fpu;

namespace Vessel.X86.Cpu.Execution.Simd;

/// <summary>
/// SSE/SSE2 floating-point arithmetic, comparisons, minimum/maximum and reciprocal estimates (Intel SDM 1 §10.4.2,
/// §11.4.1), computed by <see cref="SoftFloat"/> under MXCSR's rounding mode, DAZ and FTZ, with MXCSR flags and #XM.
/// NaN results follow SDM 1 §4.8.3.5 Table 4-7: the first source operand's NaN wins, SNaNs are quieted.
/// </summary>
public static unsafe class SimdFloatingPoint
{
    public static void Register(HandlerTable table)
    {
        AllShapes<Add>(table, "Add");
        AllShapes<Subtract>(table, "Sub");
        AllShapes<Multiply>(table, "Mul");
        AllShapes<Divide>(table, "Div");
        AllShapes<SquareRoot>(table, "Sqrt");
        AllShapes<Minimum>(table, "Min");
        AllShapes<Maximum>(table, "Max");
        AllShapes<CompareLane>(table, "Cmp");
        Shape<Reciprocal>(table, "Rcpps", "Rcpss", null, null);
        Shape<ReciprocalSquareRoot>(table, "Rsqrtps", "Rsqrtss", null, null);
        table.Add(Code.Comiss_xmm_xmmm32, &CompareScalarSingle<RegisterForm, Signaling>, &CompareScalarSingle<MemoryForm, Signaling>);
        table.Add(Code.Ucomiss_xmm_xmmm32, &CompareScalarSingle<RegisterForm, Quiet>, &CompareScalarSingle<MemoryForm, Quiet>);
        table.Add(Code.Comisd_xmm_xmmm64, &CompareScalarDouble<RegisterForm, Signaling>, &CompareScalarDouble<MemoryForm, Signaling>);
        table.Add(Code.Ucomisd_xmm_xmmm64, &CompareScalarDouble<RegisterForm, Quiet>, &CompareScalarDouble<MemoryForm, Quiet>);
    }

    private static void AllShapes<TOp>(HandlerTable table, string stem)
        where TOp : IFloatLaneOperation =>
        Shape<TOp>(table, stem + "ps", stem + "ss", stem + "pd", stem + "sd");

    private static void Shape<TOp>(HandlerTable table, string packedSingle, string scalarSingle, string? packedDouble, string? scalarDouble)
        where TOp : IFloatLaneOperation
    {
        foreach (var (code, _) in CodeFamily.Of(packedSingle))
        {
            table.Add(code, &PackedSingle<TOp, RegisterForm>, &PackedSingle<TOp, MemoryForm>);
        }

        foreach (var (code, _) in CodeFamily.Of(scalarSingle))
        {
            table.Add(code, &ScalarSingle<TOp, RegisterForm>, &ScalarSingle<TOp, MemoryForm>);
        }

        if (packedDouble != null && scalarDouble != null)
        {
            foreach (var (code, _) in CodeFamily.Of(packedDouble))
            {
                table.Add(code, &PackedDouble<TOp, RegisterForm>, &PackedDouble<TOp, MemoryForm>);
            }

            foreach (var (code, operands) in CodeFamily.Of(scalarDouble))
            {
                if (operands.StartsWith("xmm_xmmm64", StringComparison.Ordinal))
                {
                    table.Add(code, &ScalarDouble<TOp, RegisterForm>, &ScalarDouble<TOp, MemoryForm>);
                }
            }
        }
    }

    public static void PackedSingle<TOp, TForm>(Cpu cpu, DecodedInstruction* instruction)
        where TOp : IFloatLaneOperation
        where TForm : IOperandForm
    {
        if (!cpu.SseAvailable() || !SimdOperands.TryReadSource<TForm>(cpu, instruction, aligned: true, out var source))
        {
            return;
        }

        var destination = SimdOperands.Xmm(cpu, instruction->Operand0Register);
        var environment = FloatEnvironment.FromMxcsr(cpu.Fpu->Mxcsr);
        var format = FloatFormat.Single;
        byte immediate = (byte)instruction->Immediate;
        var a = destination->AsUInt32();
        var b = source.AsUInt32();
        uint r0 = (uint)TOp.Lane(a.GetElement(0), b.GetElement(0), format, ref environment, immediate);
        uint r1 = (uint)TOp.Lane(a.GetElement(1), b.GetElement(1), format, ref environment, immediate);
        uint r2 = (uint)TOp.Lane(a.GetElement(2), b.GetElement(2), format, ref environment, immediate);
        uint r3 = (uint)TOp.Lane(a.GetElement(3), b.GetElement(3), format, ref environment, immediate);
        if (cpu.CommitSimdExceptions(environment.Flags))
        {
            *destination = Vector128.Create(r0, r1, r2, r3).AsByte();
        }
    }

    public static void ScalarSingle<TOp, TForm>(Cpu cpu, DecodedInstruction* instruction)
        where TOp : IFloatLaneOperation
        where TForm : IOperandForm
    {
        if (!cpu.SseAvailable() || !SimdOperands.TryReadLowDoubleword<TForm>(cpu, instruction, out uint source))
        {
            return;
        }

        var destination = SimdOperands.Xmm(cpu, instruction->Operand0Register);
        var environment = FloatEnvironment.FromMxcsr(cpu.Fpu->Mxcsr);
        uint result = (uint)TOp.Lane(destination->AsUInt32().ToScalar(), source, FloatFormat.Single, ref environment, (byte)instruction->Immediate);
        if (cpu.CommitSimdExceptions(environment.Flags))
        {
            *destination = destination->AsUInt32().WithElement(0, result).AsByte();
        }
    }

    public static void PackedDouble<TOp, TForm>(Cpu cpu, DecodedInstruction* instruction)
        where TOp : IFloatLaneOperation
        where TForm : IOperandForm
    {
        if (!cpu.SseAvailable() || !SimdOperands.TryReadSource<TForm>(cpu, instruction, aligned: true, out var source))
        {
            return;
        }

        var destination = SimdOperands.Xmm(cpu, instruction->Operand0Register);
        var environment = FloatEnvironment.FromMxcsr(cpu.Fpu->Mxcsr);
        var format = FloatFormat.Double;
        byte immediate = (byte)instruction->Immediate;
        var a = destination->AsUInt64();
        var b = source.AsUInt64();
        ulong r0 = TOp.Lane(a.GetElement(0), b.GetElement(0), format, ref environment, immediate);
        ulong r1 = TOp.Lane(a.GetElement(1), b.GetElement(1), format, ref environment, immediate);
        if (cpu.CommitSimdExceptions(environment.Flags))
        {
            *destination = Vector128.Create(r0, r1).AsByte();
        }
    }

    public static void ScalarDouble<TOp, TForm>(Cpu cpu, DecodedInstruction* instruction)
        where TOp : IFloatLaneOperation
        where TForm : IOperandForm
    {
        if (!cpu.SseAvailable() || !SimdOperands.TryReadLowQuadword<TForm>(cpu, instruction, out ulong source))
        {
            return;
        }

        var fpu = cpu.Fpu;
        int destination = instruction->Operand0Register * 2;
        var environment = FloatEnvironment.FromMxcsr(fpu->Mxcsr);
        ulong result = TOp.Lane(fpu->Xmm[destination], source, FloatFormat.Double, ref environment, (byte)instruction->Immediate);
        if (cpu.CommitSimdExceptions(environment.Flags))
        {
            fpu->Xmm[destination] = result;
        }
    }

    /// <summary>Decodes both operands; false (with the NaN result in <paramref name="nan"/>) when either is a NaN.</summary>
    public static bool TryDecodeOperands(ulong destination, ulong source, in FloatFormat format, ref FloatEnvironment environment, out FloatParts a, out FloatParts b, out ulong nan)
    {
        a = SoftFloat.Decode(destination, format, environment.DenormalsAreZero);
        b = SoftFloat.Decode(source, format, environment.DenormalsAreZero);
        if (a.IsNaN || b.IsNaN)
        {
            if (a.Class == FloatClass.SignalingNaN || b.Class == FloatClass.SignalingNaN)
            {
                environment.Flags |= FloatExceptions.Invalid;
            }

            nan = SoftFloat.Encode((a.IsNaN ? a : b).Quieted(), format);
            return false;
        }

        nan = 0;
        return true;
    }

    /// <summary>
    /// Encodes a lane's result and reports a denormal operand unless the lane was invalid or divided by zero: those
    /// take precedence over the denormal-operand condition (SDM 1 §4.9.2), and the hardware then does not flag it.
    /// <paramref name="environment"/> holds this lane's flags alone; the other lanes' are in <paramref name="others"/>.
    /// </summary>
    public static ulong Finish(in FloatParts result, bool denormalOperand, FloatExceptions others, in FloatFormat format, ref FloatEnvironment environment)
    {
        if (denormalOperand && (environment.Flags & (FloatExceptions.Invalid | FloatExceptions.DivideByZero)) == 0)
        {
            environment.Flags |= FloatExceptions.Denormal;
        }

        environment.Flags |= others;
        return SoftFloat.Encode(result, format);
    }

    /// <summary>ADD, SUB, MUL, DIV on one lane: <paramref name="operation"/> is 0-3 in that order (a constant after inlining).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static ulong Arithmetic(ulong destination, ulong source, in FloatFormat format, ref FloatEnvironment environment, int operation)
    {
        if (TryFast(destination, source, format, ref environment, operation, out ulong fast))
        {
            return fast;
        }

        var others = environment.Flags;
        environment.Flags = FloatExceptions.None;
        if (!TryDecodeOperands(destination, source, format, ref environment, out var a, out var b, out ulong nan))
        {
            environment.Flags |= others;
            return nan;
        }

        var result = operation switch
        {
            0 => SoftFloat.Add(a, b, false, format, ref environment),
            1 => SoftFloat.Add(a, b, true, format, ref environment),
            2 => SoftFloat.Multiply(a, b, format, ref environment),
            _ => SoftFloat.Divide(a, b, format, ref environment),
        };
        return Finish(result, a.Denormal || b.Denormal, others, format, ref environment);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static bool TryFast(ulong destination, ulong source, in FloatFormat format, ref FloatEnvironment environment, int operation, out ulong result)
    {
        bool done;
        bool inexact;
        if (format.ExponentBits == 11)
        {
            done = FloatFastPath.TryDouble(destination, source, operation, environment.Rounding, out result, out inexact);
        }
        else
        {
            done = FloatFastPath.TrySingle((uint)destination, (uint)source, operation, environment.Rounding, out uint single, out inexact);
            result = single;
        }

        if (done && inexact)
        {
            environment.Flags |= FloatExceptions.Precision;
        }

        return done;
    }

    public readonly struct Add : IFloatLaneOperation
    {
        public static ulong Lane(ulong destination, ulong source, in FloatFormat format, ref FloatEnvironment environment, byte immediate) =>
            Arithmetic(destination, source, format, ref environment, 0);
    }

    public readonly struct Subtract : IFloatLaneOperation
    {
        public static ulong Lane(ulong destination, ulong source, in FloatFormat format, ref FloatEnvironment environment, byte immediate) =>
            Arithmetic(destination, source, format, ref environment, 1);
    }

    public readonly struct Multiply : IFloatLaneOperation
    {
        public static ulong Lane(ulong destination, ulong source, in FloatFormat format, ref FloatEnvironment environment, byte immediate) =>
            Arithmetic(destination, source, format, ref environment, 2);
    }

    public readonly struct Divide : IFloatLaneOperation
    {
        public static ulong Lane(ulong destination, ulong source, in FloatFormat format, ref FloatEnvironment environment, byte immediate) =>
            Arithmetic(destination, source, format, ref environment, 3);
    }

    /// <summary>SQRT: a unary operation on the source; the destination only supplies the untouched lanes.</summary>
    public readonly struct SquareRoot : IFloatLaneOperation
    {
        public static ulong Lane(ulong destination, ulong source, in FloatFormat format, ref FloatEnvironment environment, byte immediate)
        {
            if ((source >> (format.ExponentBits == 11 ? 63 : 31) & 1) == 0 && TryFast(source, 0, format, ref environment, FloatFastPath.SquareRoot, out ulong fast))
            {
                return fast;
            }

            var b = SoftFloat.Decode(source, format, environment.DenormalsAreZero);
            if (b.IsNaN)
            {
                if (b.Class == FloatClass.SignalingNaN)
                {
                    environment.Flags |= FloatExceptions.Invalid;
                }

                return SoftFloat.Encode(b.Quieted(), format);
            }

            var others = environment.Flags;
            environment.Flags = FloatExceptions.None;
            return Finish(SoftFloat.SquareRoot(b, format, ref environment), b.Denormal, others, format, ref environment);
        }
    }

    /// <summary>
    /// MIN: if either operand is a NaN, or both are zeros, the second operand is returned unchanged; any NaN is invalid
    /// (SDM 2 MINPS: "If only one value is a NaN (SNaN or QNaN) for this instruction, the second operand ... is written").
    /// </summary>
    public readonly struct Minimum : IFloatLaneOperation
    {
        public static ulong Lane(ulong destination, ulong source, in FloatFormat format, ref FloatEnvironment environment, byte immediate) =>
            MinMax(destination, source, format, ref environment, maximum: false);
    }

    public readonly struct Maximum : IFloatLaneOperation
    {
        public static ulong Lane(ulong destination, ulong source, in FloatFormat format, ref FloatEnvironment environment, byte immediate) =>
            MinMax(destination, source, format, ref environment, maximum: true);
    }

    private static ulong MinMax(ulong destination, ulong source, in FloatFormat format, ref FloatEnvironment environment, bool maximum)
    {
        var a = SoftFloat.Decode(destination, format, environment.DenormalsAreZero);
        var b = SoftFloat.Decode(source, format, environment.DenormalsAreZero);
        if (a.IsNaN || b.IsNaN)
        {
            // The source as read: DAZ has already turned a denormal into zero, an SNaN stays signaling.
            environment.Flags |= FloatExceptions.Invalid;
            return SoftFloat.Encode(b, format);
        }

        if (a.Denormal || b.Denormal)
        {
            environment.Flags |= FloatExceptions.Denormal;
        }

        int order = SoftFloat.Compare(a, b);
        bool takeDestination = maximum ? order > 0 : order < 0;
        return takeDestination ? SoftFloat.Encode(a, format) : SoftFloat.Encode(b, format);
    }

    /// <summary>
    /// CMPPS/CMPSS/CMPPD/CMPSD predicates 0-7 (SDM 2 CMPPS Table 3-1): EQ, LT, LE, UNORD, NEQ, NLT, NLE, ORD.
    /// LT, LE, NLT and NLE signal invalid on any NaN; the others only on an SNaN.
    /// </summary>
    public readonly struct CompareLane : IFloatLaneOperation
    {
        public static ulong Lane(ulong destination, ulong source, in FloatFormat format, ref FloatEnvironment environment, byte immediate)
        {
            int predicate = immediate & 7;
            var a = SoftFloat.Decode(destination, format, environment.DenormalsAreZero);
            var b = SoftFloat.Decode(source, format, environment.DenormalsAreZero);
            bool result;
            if (a.IsNaN || b.IsNaN)
            {
                bool signaling = predicate is 1 or 2 or 5 or 6;
                if (signaling || a.Class == FloatClass.SignalingNaN || b.Class == FloatClass.SignalingNaN)
                {
                    environment.Flags |= FloatExceptions.Invalid;
                }

                result = predicate is 3 or 4 or 5 or 6;
            }
            else
            {
                if (a.Denormal || b.Denormal)
                {
                    environment.Flags |= FloatExceptions.Denormal;
                }

                int order = SoftFloat.Compare(a, b);
                result = predicate switch
                {
                    0 => order == 0,
                    1 => order < 0,
                    2 => order <= 0,
                    3 => false,
                    4 => order != 0,
                    5 => order >= 0,
                    6 => order > 0,
                    _ => true,
                };
            }

            return result ? (format.ExponentBits == 8 ? 0xFFFF_FFFFUL : ulong.MaxValue) : 0;
        }
    }

    /// <summary>
    /// RCPPS/RCPSS: Intel documents only a relative error of at most 1.5 × 2^-12 (SDM 2 RCPPS); we return the correctly
    /// rounded reciprocal, which is within it. Denormal inputs count as zero, tiny results flush to zero, no flags.
    /// </summary>
    public readonly struct Reciprocal : IFloatLaneOperation
    {
        public static ulong Lane(ulong destination, ulong source, in FloatFormat format, ref FloatEnvironment environment, byte immediate) =>
            Estimate((uint)source, squareRoot: false);
    }

    /// <summary>RSQRTPS/RSQRTSS: as RCPPS, within 1.5 × 2^-12; negative non-zero inputs give the QNaN indefinite.</summary>
    public readonly struct ReciprocalSquareRoot : IFloatLaneOperation
    {
        public static ulong Lane(ulong destination, ulong source, in FloatFormat format, ref FloatEnvironment environment, byte immediate) =>
            Estimate((uint)source, squareRoot: true);
    }

    private static uint Estimate(uint bits, bool squareRoot)
    {
        const uint signBit = 0x8000_0000;
        uint exponent = (bits >> 23) & 0xFF;
        uint fraction = bits & 0x7F_FFFF;
        if (exponent == 0xFF && fraction != 0)
        {
            return bits | 0x40_0000;
        }

        if (exponent == 0)
        {
            return (bits & signBit) | 0x7F80_0000;
        }

        if ((bits & signBit) != 0 && squareRoot)
        {
            return 0xFFC0_0000;
        }

        if (exponent == 0xFF)
        {
            return bits & signBit;
        }

        double value = BitConverter.UInt32BitsToSingle(bits);
        double estimate = squareRoot ? 1.0 / Math.Sqrt(value) : 1.0 / value;
        float rounded = (float)estimate;
        if (Math.Abs(rounded) < 1.17549435E-38f)
        {
            return bits & signBit;
        }

        return BitConverter.SingleToUInt32Bits(rounded);
    }

    /// <summary>Selects COMISS/COMISD (invalid on any NaN) or UCOMISS/UCOMISD (invalid only on an SNaN).</summary>
    private interface ISignaling
    {
        static abstract bool OnQuietNaN { get; }
    }

    private readonly struct Signaling : ISignaling
    {
        public static bool OnQuietNaN => true;
    }

    private readonly struct Quiet : ISignaling
    {
        public static bool OnQuietNaN => false;
    }

    private static void CompareScalarSingle<TForm, TSignaling>(Cpu cpu, DecodedInstruction* instruction)
        where TForm : IOperandForm
        where TSignaling : ISignaling
    {
        if (cpu.SseAvailable() && SimdOperands.TryReadLowDoubleword<TForm>(cpu, instruction, out uint source))
        {
            CompareOrdered<TSignaling>(cpu, (uint)cpu.Fpu->Xmm[instruction->Operand0Register * 2], source, FloatFormat.Single);
        }
    }

    private static void CompareScalarDouble<TForm, TSignaling>(Cpu cpu, DecodedInstruction* instruction)
        where TForm : IOperandForm
        where TSignaling : ISignaling
    {
        if (cpu.SseAvailable() && SimdOperands.TryReadLowQuadword<TForm>(cpu, instruction, out ulong source))
        {
            CompareOrdered<TSignaling>(cpu, cpu.Fpu->Xmm[instruction->Operand0Register * 2], source, FloatFormat.Double);
        }
    }

    /// <summary>COMISS and friends: ZF, PF, CF = 111 unordered, 000 greater, 001 less, 100 equal; OF, SF, AF cleared (SDM 2 COMISS).</summary>
    private static void CompareOrdered<TSignaling>(Cpu cpu, ulong destination, ulong source, in FloatFormat format)
        where TSignaling : ISignaling
    {
        var environment = FloatEnvironment.FromMxcsr(cpu.Fpu->Mxcsr);
        var a = SoftFloat.Decode(destination, format, environment.DenormalsAreZero);
        var b = SoftFloat.Decode(source, format, environment.DenormalsAreZero);
        RflagsBits flags;
        if (a.IsNaN || b.IsNaN)
        {
            if (TSignaling.OnQuietNaN || a.Class == FloatClass.SignalingNaN || b.Class == FloatClass.SignalingNaN)
            {
                environment.Flags |= FloatExceptions.Invalid;
            }

            flags = RflagsBits.Zero | RflagsBits.Parity | RflagsBits.Carry;
        }
        else
        {
            if (a.Denormal || b.Denormal)
            {
                environment.Flags |= FloatExceptions.Denormal;
            }

            int order = SoftFloat.Compare(a, b);
            flags = order == 0 ? RflagsBits.Zero : order < 0 ? RflagsBits.Carry : RflagsBits.None;
        }

        if (cpu.CommitSimdExceptions(environment.Flags))
        {
            cpu.Rflags = (cpu.Rflags & ~(ulong)RflagsBits.Arithmetic) | (ulong)flags;
        }
    }
}

using System.Runtime.Intrinsics;
using Iced.Intel;
using Vessel.X86.Cpu.Decoding;
using Vessel.X86.Cpu.Fpu;

namespace Vessel.X86.Cpu.Execution.Simd;

/// <summary>
/// SSE3 and SSE4.1 floating-point instructions (Intel SDM 1 §12.3-12.4, §12.10): ADDSUB, horizontal add/subtract,
/// the duplicating moves, ROUND and the dot products, all through <see cref="SoftFloat"/> under MXCSR.
/// </summary>
public static unsafe class SimdFloatingPointExtensions
{
    public static void Register(HandlerTable table)
    {
        table.Add(Code.Addsubps_xmm_xmmm128, &PackedSingle<AddSubtract, RegisterForm>, &PackedSingle<AddSubtract, MemoryForm>);
        table.Add(Code.Addsubpd_xmm_xmmm128, &PackedDouble<AddSubtract, RegisterForm>, &PackedDouble<AddSubtract, MemoryForm>);
        table.Add(Code.Haddps_xmm_xmmm128, &PackedSingle<HorizontalAdd, RegisterForm>, &PackedSingle<HorizontalAdd, MemoryForm>);
        table.Add(Code.Hsubps_xmm_xmmm128, &PackedSingle<HorizontalSubtract, RegisterForm>, &PackedSingle<HorizontalSubtract, MemoryForm>);
        table.Add(Code.Haddpd_xmm_xmmm128, &PackedDouble<HorizontalAdd, RegisterForm>, &PackedDouble<HorizontalAdd, MemoryForm>);
        table.Add(Code.Hsubpd_xmm_xmmm128, &PackedDouble<HorizontalSubtract, RegisterForm>, &PackedDouble<HorizontalSubtract, MemoryForm>);
        table.Add(Code.Roundps_xmm_xmmm128_imm8, &PackedSingle<Round, RegisterForm>, &PackedSingle<Round, MemoryForm>);
        table.Add(Code.Roundpd_xmm_xmmm128_imm8, &PackedDouble<Round, RegisterForm>, &PackedDouble<Round, MemoryForm>);
        table.Add(Code.Roundss_xmm_xmmm32_imm8, &SimdFloatingPoint.ScalarSingle<RoundLane, RegisterForm>, &SimdFloatingPoint.ScalarSingle<RoundLane, MemoryForm>);
        table.Add(Code.Roundsd_xmm_xmmm64_imm8, &SimdFloatingPoint.ScalarDouble<RoundLane, RegisterForm>, &SimdFloatingPoint.ScalarDouble<RoundLane, MemoryForm>);
        table.Add(Code.Dpps_xmm_xmmm128_imm8, &PackedSingle<DotProduct, RegisterForm>, &PackedSingle<DotProduct, MemoryForm>);
        table.Add(Code.Dppd_xmm_xmmm128_imm8, &PackedDouble<DotProduct, RegisterForm>, &PackedDouble<DotProduct, MemoryForm>);
        table.Add(Code.Movddup_xmm_xmmm64, &DuplicateDouble<RegisterForm>, &DuplicateDouble<MemoryForm>);
        PackedInteger.Xmm<Movshdup>(table, "Movshdup");
        PackedInteger.Xmm<Movsldup>(table, "Movsldup");
    }

    /// <summary>An operation over whole registers of lanes (they are not independent, as in horizontal adds).</summary>
    public interface IFloatVectorOperation
    {
        static abstract void Apply(Span<ulong> destination, ReadOnlySpan<ulong> source, in FloatFormat format, ref FloatEnvironment environment, byte immediate);
    }

    private static void PackedSingle<TOp, TForm>(Cpu cpu, DecodedInstruction* instruction)
        where TOp : IFloatVectorOperation
        where TForm : IOperandForm
    {
        if (!cpu.SseAvailable() || !SimdOperands.TryReadSource<TForm>(cpu, instruction, aligned: true, out var source))
        {
            return;
        }

        var destination = SimdOperands.Xmm(cpu, instruction->Operand0Register);
        Span<ulong> a = stackalloc ulong[4];
        Span<ulong> b = stackalloc ulong[4];
        for (int i = 0; i < 4; i++)
        {
            a[i] = destination->AsUInt32().GetElement(i);
            b[i] = source.AsUInt32().GetElement(i);
        }

        var environment = FloatEnvironment.FromMxcsr(cpu.Fpu->Mxcsr);
        TOp.Apply(a, b, FloatFormat.Single, ref environment, (byte)instruction->Immediate);
        if (cpu.CommitSimdExceptions(environment.Flags))
        {
            *destination = Vector128.Create((uint)a[0], (uint)a[1], (uint)a[2], (uint)a[3]).AsByte();
        }
    }

    private static void PackedDouble<TOp, TForm>(Cpu cpu, DecodedInstruction* instruction)
        where TOp : IFloatVectorOperation
        where TForm : IOperandForm
    {
        if (!cpu.SseAvailable() || !SimdOperands.TryReadSource<TForm>(cpu, instruction, aligned: true, out var source))
        {
            return;
        }

        var destination = SimdOperands.Xmm(cpu, instruction->Operand0Register);
        Span<ulong> a = stackalloc ulong[2] { destination->AsUInt64().GetElement(0), destination->AsUInt64().GetElement(1) };
        Span<ulong> b = stackalloc ulong[2] { source.AsUInt64().GetElement(0), source.AsUInt64().GetElement(1) };
        var environment = FloatEnvironment.FromMxcsr(cpu.Fpu->Mxcsr);
        TOp.Apply(a, b, FloatFormat.Double, ref environment, (byte)instruction->Immediate);
        if (cpu.CommitSimdExceptions(environment.Flags))
        {
            *destination = Vector128.Create(a[0], a[1]).AsByte();
        }
    }

    /// <summary>ADDSUBPS/PD: even lanes subtract, odd lanes add.</summary>
    public readonly struct AddSubtract : IFloatVectorOperation
    {
        public static void Apply(Span<ulong> destination, ReadOnlySpan<ulong> source, in FloatFormat format, ref FloatEnvironment environment, byte immediate)
        {
            for (int i = 0; i < destination.Length; i++)
            {
                destination[i] = (i & 1) == 0
                    ? SimdFloatingPoint.Subtract.Lane(destination[i], source[i], format, ref environment, 0)
                    : SimdFloatingPoint.Add.Lane(destination[i], source[i], format, ref environment, 0);
            }
        }
    }

    /// <summary>HADDPS: [d0+d1, d2+d3, s0+s1, s2+s3]; HADDPD: [d0+d1, s0+s1].</summary>
    public readonly struct HorizontalAdd : IFloatVectorOperation
    {
        public static void Apply(Span<ulong> destination, ReadOnlySpan<ulong> source, in FloatFormat format, ref FloatEnvironment environment, byte immediate) =>
            Horizontal(destination, source, format, ref environment, subtract: false);
    }

    public readonly struct HorizontalSubtract : IFloatVectorOperation
    {
        public static void Apply(Span<ulong> destination, ReadOnlySpan<ulong> source, in FloatFormat format, ref FloatEnvironment environment, byte immediate) =>
            Horizontal(destination, source, format, ref environment, subtract: true);
    }

    private static void Horizontal(Span<ulong> destination, ReadOnlySpan<ulong> source, in FloatFormat format, ref FloatEnvironment environment, bool subtract)
    {
        int half = destination.Length / 2;
        Span<ulong> result = stackalloc ulong[4];
        for (int i = 0; i < destination.Length; i++)
        {
            ReadOnlySpan<ulong> from = i < half ? destination : source;
            int pair = (i % half) * 2;
            result[i] = subtract
                ? SimdFloatingPoint.Subtract.Lane(from[pair], from[pair + 1], format, ref environment, 0)
                : SimdFloatingPoint.Add.Lane(from[pair], from[pair + 1], format, ref environment, 0);
        }

        result[..destination.Length].CopyTo(destination);
    }

    /// <summary>ROUNDPS/PD: each source lane rounded to an integral value (SDM 2 ROUNDPS).</summary>
    public readonly struct Round : IFloatVectorOperation
    {
        public static void Apply(Span<ulong> destination, ReadOnlySpan<ulong> source, in FloatFormat format, ref FloatEnvironment environment, byte immediate)
        {
            for (int i = 0; i < destination.Length; i++)
            {
                destination[i] = RoundLane.Lane(destination[i], source[i], format, ref environment, immediate);
            }
        }
    }

    /// <summary>
    /// One ROUND lane: imm[1:0] is the rounding mode unless imm[2] selects MXCSR.RC; imm[3] suppresses the precision
    /// exception. Only an SNaN signals invalid; denormals are not reported (SDM 2 ROUNDPS "SIMD Floating-Point Exceptions").
    /// </summary>
    public readonly struct RoundLane : IFloatLaneOperation
    {
        public static ulong Lane(ulong destination, ulong source, in FloatFormat format, ref FloatEnvironment environment, byte immediate)
        {
            var value = SoftFloat.Decode(source, format, environment.DenormalsAreZero);
            if (value.IsNaN)
            {
                if (value.Class == FloatClass.SignalingNaN)
                {
                    environment.Flags |= FloatExceptions.Invalid;
                }

                return SoftFloat.Encode(value.Quieted(), format);
            }

            var rounding = (immediate & 4) != 0 ? environment.Rounding : (RoundingMode)(immediate & 3);
            var scratch = default(FloatEnvironment);
            var result = X87.X87Arithmetic.RoundToIntegral(value, rounding, ref scratch);
            if ((immediate & 8) == 0)
            {
                environment.Flags |= scratch.Flags & FloatExceptions.Precision;
            }

            return SoftFloat.Encode(result, format);
        }
    }

    /// <summary>
    /// DPPS/DPPD: products of the lanes selected by imm[7:4] (others +0.0), summed pairwise — (p0 + p1) + (p2 + p3) —
    /// each step rounded, then broadcast to the lanes selected by imm[3:0], zero elsewhere (SDM 2 DPPS pseudo-code).
    /// </summary>
    public readonly struct DotProduct : IFloatVectorOperation
    {
        public static void Apply(Span<ulong> destination, ReadOnlySpan<ulong> source, in FloatFormat format, ref FloatEnvironment environment, byte immediate)
        {
            int lanes = destination.Length;
            Span<ulong> products = stackalloc ulong[4];
            for (int i = 0; i < lanes; i++)
            {
                products[i] = (immediate & (0x10 << i)) != 0
                    ? SimdFloatingPoint.Multiply.Lane(destination[i], source[i], format, ref environment, 0)
                    : 0;
            }

            ulong sum = SimdFloatingPoint.Add.Lane(products[0], products[1], format, ref environment, 0);
            if (lanes == 4)
            {
                ulong upper = SimdFloatingPoint.Add.Lane(products[2], products[3], format, ref environment, 0);
                sum = SimdFloatingPoint.Add.Lane(sum, upper, format, ref environment, 0);
            }

            for (int i = 0; i < lanes; i++)
            {
                destination[i] = (immediate & (1 << i)) != 0 ? sum : 0;
            }
        }
    }

    private static void DuplicateDouble<TForm>(Cpu cpu, DecodedInstruction* instruction)
        where TForm : IOperandForm
    {
        if (cpu.SseAvailable() && SimdOperands.TryReadLowQuadword<TForm>(cpu, instruction, out ulong value))
        {
            *SimdOperands.Xmm(cpu, instruction->Operand0Register) = Vector128.Create(value, value).AsByte();
        }
    }

    public readonly struct Movshdup : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> destination, Vector128<byte> source)
        {
            var s = source.AsUInt32();
            return Vector128.Create(s.GetElement(1), s.GetElement(1), s.GetElement(3), s.GetElement(3)).AsByte();
        }
    }

    public readonly struct Movsldup : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> destination, Vector128<byte> source)
        {
            var s = source.AsUInt32();
            return Vector128.Create(s.GetElement(0), s.GetElement(0), s.GetElement(2), s.GetElement(2)).AsByte();
        }
    }
}

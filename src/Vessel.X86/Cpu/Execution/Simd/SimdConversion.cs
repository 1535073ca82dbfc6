using System.Runtime.Intrinsics;
using Iced.Intel;
using Vessel.X86.Cpu.Decoding;
using Vessel.X86.Cpu.Fpu;

namespace Vessel.X86.Cpu.Execution.Simd;

/// <summary>
/// SSE/SSE2 conversions between integers, singles and doubles (Intel SDM 1 §10.4.6, §11.4.4). Float-to-integer
/// conversions that overflow or see a NaN return the integer indefinite (0x80000000 or 0x8000000000000000) and
/// signal invalid; the CVTT forms truncate, the others round by MXCSR.RC.
/// </summary>
public static unsafe class SimdConversion
{
    public static void Register(HandlerTable table)
    {
        table.Add(Code.Cvtsi2ss_xmm_rm32, &IntegerToScalar<RegisterForm, Single>, &IntegerToScalar<MemoryForm, Single>);
        table.Add(Code.Cvtsi2ss_xmm_rm64, &IntegerToScalar<RegisterForm, Single>, &IntegerToScalar<MemoryForm, Single>);
        table.Add(Code.Cvtsi2sd_xmm_rm32, &IntegerToScalar<RegisterForm, Double>, &IntegerToScalar<MemoryForm, Double>);
        table.Add(Code.Cvtsi2sd_xmm_rm64, &IntegerToScalar<RegisterForm, Double>, &IntegerToScalar<MemoryForm, Double>);
        foreach (var code in new[] { Code.Cvtss2si_r32_xmmm32, Code.Cvtss2si_r64_xmmm32 })
        {
            table.Add(code, &ScalarToInteger<RegisterForm, Single, Rounded>, &ScalarToInteger<MemoryForm, Single, Rounded>);
        }

        foreach (var code in new[] { Code.Cvttss2si_r32_xmmm32, Code.Cvttss2si_r64_xmmm32 })
        {
            table.Add(code, &ScalarToInteger<RegisterForm, Single, Truncated>, &ScalarToInteger<MemoryForm, Single, Truncated>);
        }

        foreach (var code in new[] { Code.Cvtsd2si_r32_xmmm64, Code.Cvtsd2si_r64_xmmm64 })
        {
            table.Add(code, &ScalarToInteger<RegisterForm, Double, Rounded>, &ScalarToInteger<MemoryForm, Double, Rounded>);
        }

        foreach (var code in new[] { Code.Cvttsd2si_r32_xmmm64, Code.Cvttsd2si_r64_xmmm64 })
        {
            table.Add(code, &ScalarToInteger<RegisterForm, Double, Truncated>, &ScalarToInteger<MemoryForm, Double, Truncated>);
        }

        table.Add(Code.Cvtss2sd_xmm_xmmm32, &SingleToDoubleScalar<RegisterForm>, &SingleToDoubleScalar<MemoryForm>);
        table.Add(Code.Cvtsd2ss_xmm_xmmm64, &DoubleToSingleScalar<RegisterForm>, &DoubleToSingleScalar<MemoryForm>);
        table.Add(Code.Cvtps2pd_xmm_xmmm64, &SinglesToDoubles<RegisterForm>, &SinglesToDoubles<MemoryForm>);
        table.Add(Code.Cvtpd2ps_xmm_xmmm128, &DoublesToSingles<RegisterForm>, &DoublesToSingles<MemoryForm>);
        table.Add(Code.Cvtdq2ps_xmm_xmmm128, &IntegersToSingles<RegisterForm>, &IntegersToSingles<MemoryForm>);
        table.Add(Code.Cvtps2dq_xmm_xmmm128, &SinglesToIntegers<RegisterForm, Rounded>, &SinglesToIntegers<MemoryForm, Rounded>);
        table.Add(Code.Cvttps2dq_xmm_xmmm128, &SinglesToIntegers<RegisterForm, Truncated>, &SinglesToIntegers<MemoryForm, Truncated>);
        table.Add(Code.Cvtdq2pd_xmm_xmmm64, &IntegersToDoubles<RegisterForm>, &IntegersToDoubles<MemoryForm>);
        table.Add(Code.Cvtpd2dq_xmm_xmmm128, &DoublesToIntegers<RegisterForm, Rounded>, &DoublesToIntegers<MemoryForm, Rounded>);
        table.Add(Code.Cvttpd2dq_xmm_xmmm128, &DoublesToIntegers<RegisterForm, Truncated>, &DoublesToIntegers<MemoryForm, Truncated>);
        table.Add(Code.Cvtpi2ps_xmm_mmm64, &MmxIntegersToSingles<RegisterForm>, &MmxIntegersToSingles<MemoryForm>);
        table.Add(Code.Cvtpi2pd_xmm_mmm64, &MmxIntegersToDoubles<RegisterForm>, &MmxIntegersToDoubles<MemoryForm>);
        table.Add(Code.Cvtps2pi_mm_xmmm64, &SinglesToMmxIntegers<RegisterForm, Rounded>, &SinglesToMmxIntegers<MemoryForm, Rounded>);
        table.Add(Code.Cvttps2pi_mm_xmmm64, &SinglesToMmxIntegers<RegisterForm, Truncated>, &SinglesToMmxIntegers<MemoryForm, Truncated>);
        table.Add(Code.Cvtpd2pi_mm_xmmm128, &DoublesToMmxIntegers<RegisterForm, Rounded>, &DoublesToMmxIntegers<MemoryForm, Rounded>);
        table.Add(Code.Cvttpd2pi_mm_xmmm128, &DoublesToMmxIntegers<RegisterForm, Truncated>, &DoublesToMmxIntegers<MemoryForm, Truncated>);
    }

    /// <summary>The scalar format an instruction converts from or to.</summary>
    private interface IFormat
    {
        static abstract FloatFormat Format { get; }

        static abstract int Bits { get; }
    }

    private readonly struct Single : IFormat
    {
        public static FloatFormat Format => FloatFormat.Single;

        public static int Bits => 32;
    }

    private readonly struct Double : IFormat
    {
        public static FloatFormat Format => FloatFormat.Double;

        public static int Bits => 64;
    }

    /// <summary>CVT (MXCSR.RC) or CVTT (toward zero).</summary>
    private interface IRounding
    {
        static abstract bool Truncate { get; }
    }

    private readonly struct Rounded : IRounding
    {
        public static bool Truncate => false;
    }

    private readonly struct Truncated : IRounding
    {
        public static bool Truncate => true;
    }

    public static ulong FloatToFloat(ulong bits, in FloatFormat from, in FloatFormat to, ref FloatEnvironment environment)
    {
        var value = SoftFloat.Decode(bits, from, environment.DenormalsAreZero);
        if (value.IsNaN)
        {
            if (value.Class == FloatClass.SignalingNaN)
            {
                environment.Flags |= FloatExceptions.Invalid;
            }

            return SoftFloat.Encode(value.Quieted(), to);
        }

        if (value.Denormal)
        {
            environment.Flags |= FloatExceptions.Denormal;
        }

        return SoftFloat.Encode(SoftFloat.Round(value, to, ref environment), to);
    }

    public static ulong FloatToInteger(ulong bits, in FloatFormat from, int integerBits, bool truncate, ref FloatEnvironment environment)
    {
        var value = SoftFloat.Decode(bits, from, environment.DenormalsAreZero);
        return (ulong)SoftFloat.ToInteger(value, integerBits, truncate ? RoundingMode.TowardZero : environment.Rounding, ref environment);
    }

    public static ulong IntegerToFloat(long value, in FloatFormat to, ref FloatEnvironment environment) =>
        SoftFloat.Encode(SoftFloat.FromSigned(value, to, ref environment), to);

    private static void IntegerToScalar<TForm, TFormat>(Cpu cpu, DecodedInstruction* instruction)
        where TForm : IOperandForm
        where TFormat : IFormat
    {
        if (!cpu.SseAvailable() || !SimdOperands.TryReadGeneral<TForm>(cpu, instruction, out ulong raw))
        {
            return;
        }

        long value = Cpu.OperandBitsOf(instruction, 1) == 64 ? (long)raw : (int)raw;
        var environment = FloatEnvironment.FromMxcsr(cpu.Fpu->Mxcsr);
        ulong result = IntegerToFloat(value, TFormat.Format, ref environment);
        if (cpu.CommitSimdExceptions(environment.Flags))
        {
            WriteScalar<TFormat>(cpu, instruction->Operand0Register, result);
        }
    }

    private static void WriteScalar<TFormat>(Cpu cpu, int register, ulong value)
        where TFormat : IFormat
    {
        ref ulong low = ref cpu.Fpu->Xmm[register * 2];
        low = TFormat.Bits == 64 ? value : (low & 0xFFFF_FFFF_0000_0000UL) | (uint)value;
    }

    private static bool TryReadScalar<TForm, TFormat>(Cpu cpu, DecodedInstruction* instruction, out ulong value)
        where TForm : IOperandForm
        where TFormat : IFormat
    {
        if (TFormat.Bits == 64)
        {
            return SimdOperands.TryReadLowQuadword<TForm>(cpu, instruction, out value);
        }

        bool ok = SimdOperands.TryReadLowDoubleword<TForm>(cpu, instruction, out uint single);
        value = single;
        return ok;
    }

    private static void ScalarToInteger<TForm, TFormat, TRounding>(Cpu cpu, DecodedInstruction* instruction)
        where TForm : IOperandForm
        where TFormat : IFormat
        where TRounding : IRounding
    {
        if (!cpu.SseAvailable() || !TryReadScalar<TForm, TFormat>(cpu, instruction, out ulong source))
        {
            return;
        }

        int bits = instruction->OperandBits;
        var environment = FloatEnvironment.FromMxcsr(cpu.Fpu->Mxcsr);
        ulong result = FloatToInteger(source, TFormat.Format, bits, TRounding.Truncate, ref environment);
        if (cpu.CommitSimdExceptions(environment.Flags))
        {
            cpu.WriteRegister(instruction->Operand0Register, bits, result);
        }
    }

    private static void SingleToDoubleScalar<TForm>(Cpu cpu, DecodedInstruction* instruction)
        where TForm : IOperandForm
    {
        if (!cpu.SseAvailable() || !SimdOperands.TryReadLowDoubleword<TForm>(cpu, instruction, out uint source))
        {
            return;
        }

        var environment = FloatEnvironment.FromMxcsr(cpu.Fpu->Mxcsr);
        ulong result = FloatToFloat(source, FloatFormat.Single, FloatFormat.Double, ref environment);
        if (cpu.CommitSimdExceptions(environment.Flags))
        {
            cpu.Fpu->Xmm[instruction->Operand0Register * 2] = result;
        }
    }

    private static void DoubleToSingleScalar<TForm>(Cpu cpu, DecodedInstruction* instruction)
        where TForm : IOperandForm
    {
        if (!cpu.SseAvailable() || !SimdOperands.TryReadLowQuadword<TForm>(cpu, instruction, out ulong source))
        {
            return;
        }

        var environment = FloatEnvironment.FromMxcsr(cpu.Fpu->Mxcsr);
        ulong result = FloatToFloat(source, FloatFormat.Double, FloatFormat.Single, ref environment);
        if (cpu.CommitSimdExceptions(environment.Flags))
        {
            WriteScalar<Single>(cpu, instruction->Operand0Register, result);
        }
    }

    private static void SinglesToDoubles<TForm>(Cpu cpu, DecodedInstruction* instruction)
        where TForm : IOperandForm
    {
        if (!cpu.SseAvailable() || !SimdOperands.TryReadLowQuadword<TForm>(cpu, instruction, out ulong source))
        {
            return;
        }

        var environment = FloatEnvironment.FromMxcsr(cpu.Fpu->Mxcsr);
        ulong r0 = FloatToFloat((uint)source, FloatFormat.Single, FloatFormat.Double, ref environment);
        ulong r1 = FloatToFloat(source >> 32, FloatFormat.Single, FloatFormat.Double, ref environment);
        if (cpu.CommitSimdExceptions(environment.Flags))
        {
            *SimdOperands.Xmm(cpu, instruction->Operand0Register) = Vector128.Create(r0, r1).AsByte();
        }
    }

    private static void DoublesToSingles<TForm>(Cpu cpu, DecodedInstruction* instruction)
        where TForm : IOperandForm
    {
        if (!cpu.SseAvailable() || !SimdOperands.TryReadSource<TForm>(cpu, instruction, aligned: true, out var source))
        {
            return;
        }

        var environment = FloatEnvironment.FromMxcsr(cpu.Fpu->Mxcsr);
        var s = source.AsUInt64();
        ulong r0 = FloatToFloat(s.GetElement(0), FloatFormat.Double, FloatFormat.Single, ref environment);
        ulong r1 = FloatToFloat(s.GetElement(1), FloatFormat.Double, FloatFormat.Single, ref environment);
        if (cpu.CommitSimdExceptions(environment.Flags))
        {
            *SimdOperands.Xmm(cpu, instruction->Operand0Register) = Vector128.Create(r0 | (r1 << 32), 0UL).AsByte();
        }
    }

    private static void IntegersToSingles<TForm>(Cpu cpu, DecodedInstruction* instruction)
        where TForm : IOperandForm
    {
        if (!cpu.SseAvailable() || !SimdOperands.TryReadSource<TForm>(cpu, instruction, aligned: true, out var source))
        {
            return;
        }

        var environment = FloatEnvironment.FromMxcsr(cpu.Fpu->Mxcsr);
        var s = source.AsInt32();
        uint r0 = (uint)IntegerToFloat(s.GetElement(0), FloatFormat.Single, ref environment);
        uint r1 = (uint)IntegerToFloat(s.GetElement(1), FloatFormat.Single, ref environment);
        uint r2 = (uint)IntegerToFloat(s.GetElement(2), FloatFormat.Single, ref environment);
        uint r3 = (uint)IntegerToFloat(s.GetElement(3), FloatFormat.Single, ref environment);
        if (cpu.CommitSimdExceptions(environment.Flags))
        {
            *SimdOperands.Xmm(cpu, instruction->Operand0Register) = Vector128.Create(r0, r1, r2, r3).AsByte();
        }
    }

    private static void SinglesToIntegers<TForm, TRounding>(Cpu cpu, DecodedInstruction* instruction)
        where TForm : IOperandForm
        where TRounding : IRounding
    {
        if (!cpu.SseAvailable() || !SimdOperands.TryReadSource<TForm>(cpu, instruction, aligned: true, out var source))
        {
            return;
        }

        var environment = FloatEnvironment.FromMxcsr(cpu.Fpu->Mxcsr);
        var s = source.AsUInt32();
        uint r0 = (uint)FloatToInteger(s.GetElement(0), FloatFormat.Single, 32, TRounding.Truncate, ref environment);
        uint r1 = (uint)FloatToInteger(s.GetElement(1), FloatFormat.Single, 32, TRounding.Truncate, ref environment);
        uint r2 = (uint)FloatToInteger(s.GetElement(2), FloatFormat.Single, 32, TRounding.Truncate, ref environment);
        uint r3 = (uint)FloatToInteger(s.GetElement(3), FloatFormat.Single, 32, TRounding.Truncate, ref environment);
        if (cpu.CommitSimdExceptions(environment.Flags))
        {
            *SimdOperands.Xmm(cpu, instruction->Operand0Register) = Vector128.Create(r0, r1, r2, r3).AsByte();
        }
    }

    private static void IntegersToDoubles<TForm>(Cpu cpu, DecodedInstruction* instruction)
        where TForm : IOperandForm
    {
        if (cpu.SseAvailable() && SimdOperands.TryReadLowQuadword<TForm>(cpu, instruction, out ulong source))
        {
            *SimdOperands.Xmm(cpu, instruction->Operand0Register) = PairToDoubles(source);
        }
    }

    /// <summary>Two int32 to two doubles: always exact, no exceptions.</summary>
    private static Vector128<byte> PairToDoubles(ulong pair)
    {
        var environment = default(FloatEnvironment);
        return Vector128.Create(IntegerToFloat((int)pair, FloatFormat.Double, ref environment), IntegerToFloat((int)(pair >> 32), FloatFormat.Double, ref environment)).AsByte();
    }

    private static void DoublesToIntegers<TForm, TRounding>(Cpu cpu, DecodedInstruction* instruction)
        where TForm : IOperandForm
        where TRounding : IRounding
    {
        if (!cpu.SseAvailable() || !SimdOperands.TryReadSource<TForm>(cpu, instruction, aligned: true, out var source))
        {
            return;
        }

        var environment = FloatEnvironment.FromMxcsr(cpu.Fpu->Mxcsr);
        ulong pair = DoublesToPair(source, TRounding.Truncate, ref environment);
        if (cpu.CommitSimdExceptions(environment.Flags))
        {
            *SimdOperands.Xmm(cpu, instruction->Operand0Register) = Vector128.CreateScalar(pair).AsByte();
        }
    }

    private static ulong DoublesToPair(Vector128<byte> source, bool truncate, ref FloatEnvironment environment)
    {
        var s = source.AsUInt64();
        uint r0 = (uint)FloatToInteger(s.GetElement(0), FloatFormat.Double, 32, truncate, ref environment);
        uint r1 = (uint)FloatToInteger(s.GetElement(1), FloatFormat.Double, 32, truncate, ref environment);
        return r0 | ((ulong)r1 << 32);
    }

    /// <summary>CVTPI2PS: two int32 from an MMX register or m64 into the low singles; the high quadword is kept.</summary>
    private static void MmxIntegersToSingles<TForm>(Cpu cpu, DecodedInstruction* instruction)
        where TForm : IOperandForm
    {
        if (!cpu.SseAvailable() || !SimdOperands.TryReadMmxSource<TForm>(cpu, instruction, out ulong source))
        {
            return;
        }

        var environment = FloatEnvironment.FromMxcsr(cpu.Fpu->Mxcsr);
        ulong r0 = IntegerToFloat((int)source, FloatFormat.Single, ref environment);
        ulong r1 = IntegerToFloat((int)(source >> 32), FloatFormat.Single, ref environment);
        if (cpu.CommitSimdExceptions(environment.Flags))
        {
            if (!TForm.IsMemory)
            {
                SimdOperands.EnterMmxState(cpu);
            }

            cpu.Fpu->Xmm[instruction->Operand0Register * 2] = r0 | (r1 << 32);
        }
    }

    private static void MmxIntegersToDoubles<TForm>(Cpu cpu, DecodedInstruction* instruction)
        where TForm : IOperandForm
    {
        if (!cpu.SseAvailable() || !SimdOperands.TryReadMmxSource<TForm>(cpu, instruction, out ulong source))
        {
            return;
        }

        if (!TForm.IsMemory)
        {
            SimdOperands.EnterMmxState(cpu);
        }

        *SimdOperands.Xmm(cpu, instruction->Operand0Register) = PairToDoubles(source);
    }

    private static void SinglesToMmxIntegers<TForm, TRounding>(Cpu cpu, DecodedInstruction* instruction)
        where TForm : IOperandForm
        where TRounding : IRounding
    {
        if (!cpu.SseAvailable() || !SimdOperands.TryReadLowQuadword<TForm>(cpu, instruction, out ulong source))
        {
            return;
        }

        var environment = FloatEnvironment.FromMxcsr(cpu.Fpu->Mxcsr);
        uint r0 = (uint)FloatToInteger((uint)source, FloatFormat.Single, 32, TRounding.Truncate, ref environment);
        uint r1 = (uint)FloatToInteger(source >> 32, FloatFormat.Single, 32, TRounding.Truncate, ref environment);
        if (cpu.CommitSimdExceptions(environment.Flags))
        {
            SimdOperands.EnterMmxState(cpu);
            SimdOperands.WriteMmx(cpu, instruction->Operand0Register, r0 | ((ulong)r1 << 32));
        }
    }

    private static void DoublesToMmxIntegers<TForm, TRounding>(Cpu cpu, DecodedInstruction* instruction)
        where TForm : IOperandForm
        where TRounding : IRounding
    {
        if (!cpu.SseAvailable() || !SimdOperands.TryReadSource<TForm>(cpu, instruction, aligned: true, out var source))
        {
            return;
        }

        var environment = FloatEnvironment.FromMxcsr(cpu.Fpu->Mxcsr);
        ulong pair = DoublesToPair(source, TRounding.Truncate, ref environment);
        if (cpu.CommitSimdExceptions(environment.Flags))
        {
            SimdOperands.EnterMmxState(cpu);
            SimdOperands.WriteMmx(cpu, instruction->Operand0Register, pair);
        }
    }
}

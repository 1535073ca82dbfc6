using Iced.Intel;
using Vessel.X86.Cpu.Decoding;
using Vessel.X86.Cpu.Fpu;

namespace Vessel.X86.Cpu.Execution.X87;

/// <summary>
/// x87 basic arithmetic (Intel SDM 1 §8.3.5-8.3.8): FADD/FSUB/FSUBR/FMUL/FDIV/FDIVR with memory, integer and register
/// operands and their popping forms, FSQRT, FABS, FCHS, FRNDINT, FSCALE, FXTRACT, FPREM and FPREM1. Results are
/// correctly rounded to the FCW's precision and rounding control by <see cref="SoftFloat"/>.
/// </summary>
public static unsafe class X87Arithmetic
{
    private const int Add = 0;
    private const int Subtract = 1;
    private const int SubtractReverse = 2;
    private const int Multiply = 3;
    private const int Divide = 4;
    private const int DivideReverse = 5;

    public static void Register(HandlerTable table)
    {
        Family<AddKind>(table, "Fadd", "Faddp", "Fiadd");
        Family<SubtractKind>(table, "Fsub", "Fsubp", "Fisub");
        Family<SubtractReverseKind>(table, "Fsubr", "Fsubrp", "Fisubr");
        Family<MultiplyKind>(table, "Fmul", "Fmulp", "Fimul");
        Family<DivideKind>(table, "Fdiv", "Fdivp", "Fidiv");
        Family<DivideReverseKind>(table, "Fdivr", "Fdivrp", "Fidivr");
        table.Add(Code.Fchs, &ChangeSign);
        table.Add(Code.Fabs, &Absolute);
        table.Add(Code.Fsqrt, &SquareRoot);
        table.Add(Code.Frndint, &RoundToInteger);
        table.Add(Code.Fscale, &Scale);
        table.Add(Code.Fxtract, &Extract);
        table.Add(Code.Fprem, &PartialRemainder);
        table.Add(Code.Fprem1, &PartialRemainderIeee);
    }

    private static void Family<TKind>(HandlerTable table, string mnemonic, string popping, string integer)
        where TKind : IArithmeticKind
    {
        table.Add(Enum.Parse<Code>(mnemonic + "_m32fp"), &MemoryFloat<TKind, Single32>);
        table.Add(Enum.Parse<Code>(mnemonic + "_m64fp"), &MemoryFloat<TKind, Double64>);
        table.Add(Enum.Parse<Code>(mnemonic + "_st0_sti"), &TopWithRegister<TKind>);
        table.Add(Enum.Parse<Code>(mnemonic + "_sti_st0"), &RegisterWithTop<TKind, NoPop>);
        table.Add(Enum.Parse<Code>(popping + "_sti_st0"), &RegisterWithTop<TKind, PopAfter>);
        table.Add(Enum.Parse<Code>(integer + "_m16int"), &MemoryInteger<TKind, Integer16>);
        table.Add(Enum.Parse<Code>(integer + "_m32int"), &MemoryInteger<TKind, Integer32>);
    }

    /// <summary>Which of the six operations a handler instance performs.</summary>
    public interface IArithmeticKind
    {
        static abstract int Kind { get; }
    }

    private readonly struct AddKind : IArithmeticKind
    {
        public static int Kind => Add;
    }

    private readonly struct SubtractKind : IArithmeticKind
    {
        public static int Kind => Subtract;
    }

    private readonly struct SubtractReverseKind : IArithmeticKind
    {
        public static int Kind => SubtractReverse;
    }

    private readonly struct MultiplyKind : IArithmeticKind
    {
        public static int Kind => Multiply;
    }

    private readonly struct DivideKind : IArithmeticKind
    {
        public static int Kind => Divide;
    }

    private readonly struct DivideReverseKind : IArithmeticKind
    {
        public static int Kind => DivideReverse;
    }

    /// <summary>Whether a register form pops the stack afterwards.</summary>
    public interface IPop
    {
        static abstract bool Pop { get; }
    }

    public readonly struct NoPop : IPop
    {
        public static bool Pop => false;
    }

    public readonly struct PopAfter : IPop
    {
        public static bool Pop => true;
    }

    /// <summary>A memory operand format: m32fp, m64fp, m16int or m32int.</summary>
    public interface IMemoryOperand
    {
        static abstract bool TryRead(Cpu cpu, ulong address, out FloatParts value);
    }

    public readonly struct Single32 : IMemoryOperand
    {
        public static bool TryRead(Cpu cpu, ulong address, out FloatParts value)
        {
            bool ok = cpu.TryRead(address, out uint bits);
            value = SoftFloat.Decode(bits, FloatFormat.Single, false);
            return ok;
        }
    }

    public readonly struct Double64 : IMemoryOperand
    {
        public static bool TryRead(Cpu cpu, ulong address, out FloatParts value)
        {
            bool ok = cpu.TryRead(address, out ulong bits);
            value = SoftFloat.Decode(bits, FloatFormat.Double, false);
            return ok;
        }
    }

    public readonly struct Integer16 : IMemoryOperand
    {
        public static bool TryRead(Cpu cpu, ulong address, out FloatParts value)
        {
            bool ok = cpu.TryRead(address, out short integer);
            value = ExactInteger(integer);
            return ok;
        }
    }

    public readonly struct Integer32 : IMemoryOperand
    {
        public static bool TryRead(Cpu cpu, ulong address, out FloatParts value)
        {
            bool ok = cpu.TryRead(address, out int integer);
            value = ExactInteger(integer);
            return ok;
        }
    }

    public readonly struct Integer64 : IMemoryOperand
    {
        public static bool TryRead(Cpu cpu, ulong address, out FloatParts value)
        {
            bool ok = cpu.TryRead(address, out long integer);
            value = ExactInteger(integer);
            return ok;
        }
    }

    /// <summary>Any 64-bit integer is exact in the 80-bit format.</summary>
    public static FloatParts ExactInteger(long value)
    {
        var environment = default(FloatEnvironment);
        return SoftFloat.FromSigned(value, FloatFormat.Extended, ref environment);
    }

    private static void MemoryFloat<TKind, TOperand>(Cpu cpu, DecodedInstruction* instruction)
        where TKind : IArithmeticKind
        where TOperand : IMemoryOperand
    {
        if (X87Stack.Begin(cpu, instruction) && TOperand.TryRead(cpu, X87Stack.OperandAddress(cpu, instruction), out var source))
        {
            Apply(cpu, TKind.Kind, 0, 0, source, fromRegister: false, pop: false);
        }
    }

    private static void MemoryInteger<TKind, TOperand>(Cpu cpu, DecodedInstruction* instruction)
        where TKind : IArithmeticKind
        where TOperand : IMemoryOperand => MemoryFloat<TKind, TOperand>(cpu, instruction);

    private static void TopWithRegister<TKind>(Cpu cpu, DecodedInstruction* instruction)
        where TKind : IArithmeticKind
    {
        if (X87Stack.Begin(cpu, instruction))
        {
            Apply(cpu, TKind.Kind, 0, instruction->Operand1Register, default, fromRegister: true, pop: false);
        }
    }

    private static void RegisterWithTop<TKind, TPop>(Cpu cpu, DecodedInstruction* instruction)
        where TKind : IArithmeticKind
        where TPop : IPop
    {
        if (X87Stack.Begin(cpu, instruction))
        {
            Apply(cpu, TKind.Kind, instruction->Operand0Register, 0, default, fromRegister: true, pop: TPop.Pop);
        }
    }

    /// <summary>ST(destination) = ST(destination) op source, where source is ST(sourceIndex) or a memory value.</summary>
    private static void Apply(Cpu cpu, int kind, int destination, int sourceIndex, FloatParts source, bool fromRegister, bool pop)
    {
        var fpu = cpu.Fpu;
        if (X87Stack.IsEmpty(fpu, destination) || (fromRegister && X87Stack.IsEmpty(fpu, sourceIndex)))
        {
            X87Stack.StackFault(cpu, overflow: false);
            if (X87Stack.InvalidMasked(fpu))
            {
                X87Stack.Write(fpu, destination, FloatParts.Indefinite);
                if (pop)
                {
                    X87Stack.Pop(fpu);
                }
            }

            return;
        }

        var a = X87Stack.Read(fpu, destination);
        if (fromRegister)
        {
            source = X87Stack.Read(fpu, sourceIndex);
        }

        var environment = X87Stack.Environment(fpu);
        var result = Compute(kind, a, source, X87Stack.ResultFormat(fpu), ref environment);
        if (X87Stack.Commit(cpu, environment.Flags))
        {
            X87Stack.Write(fpu, destination, result);
            if (pop)
            {
                X87Stack.Pop(fpu);
            }
        }
    }

    public static FloatParts Compute(int kind, in FloatParts a, in FloatParts b, in FloatFormat format, ref FloatEnvironment environment)
    {
        if (a.Class == FloatClass.Unsupported || b.Class == FloatClass.Unsupported)
        {
            environment.Flags |= FloatExceptions.Invalid;
            return FloatParts.Indefinite;
        }

        if (a.IsNaN || b.IsNaN)
        {
            return X87Stack.PropagateNaN(a, b, ref environment);
        }

        if (a.Denormal || b.Denormal)
        {
            environment.Flags |= FloatExceptions.Denormal;
        }

        return kind switch
        {
            Add => SoftFloat.Add(a, b, false, format, ref environment),
            Subtract => SoftFloat.Add(a, b, true, format, ref environment),
            SubtractReverse => SoftFloat.Add(b, a, true, format, ref environment),
            Multiply => SoftFloat.Multiply(a, b, format, ref environment),
            Divide => SoftFloat.Divide(a, b, format, ref environment),
            _ => SoftFloat.Divide(b, a, format, ref environment),
        };
    }

    /// <summary>Runs a unary operation on ST(0), with the stack-underflow and exception handling every one shares.</summary>
    private static void Unary(Cpu cpu, DecodedInstruction* instruction, delegate*<in FloatParts, ref FloatEnvironment, FpuState*, FloatParts> operation)
    {
        if (!X87Stack.Begin(cpu, instruction))
        {
            return;
        }

        var fpu = cpu.Fpu;
        if (X87Stack.IsEmpty(fpu, 0))
        {
            X87Stack.UnderflowIntoTop(cpu);

            return;
        }

        var environment = X87Stack.Environment(fpu);
        var result = operation(X87Stack.Read(fpu, 0), ref environment, fpu);
        if (X87Stack.Commit(cpu, environment.Flags))
        {
            X87Stack.Write(fpu, 0, result);
        }
    }

    /// <summary>FCHS and FABS change only the sign bit, of any operand, and clear C1 (SDM 2 FCHS).</summary>
    private static void ChangeSign(Cpu cpu, DecodedInstruction* instruction) => SignOperation(cpu, instruction, flip: true);

    private static void Absolute(Cpu cpu, DecodedInstruction* instruction) => SignOperation(cpu, instruction, flip: false);

    private static void SignOperation(Cpu cpu, DecodedInstruction* instruction, bool flip)
    {
        if (!X87Stack.Begin(cpu, instruction))
        {
            return;
        }

        var fpu = cpu.Fpu;
        if (X87Stack.IsEmpty(fpu, 0))
        {
            X87Stack.UnderflowIntoTop(cpu);

            return;
        }

        int physical = X87Stack.PhysicalIndex(fpu, 0);
        ulong signExponent = fpu->Physical[(physical * 2) + 1];
        fpu->Physical[(physical * 2) + 1] = flip ? signExponent ^ 0x8000 : signExponent & 0x7FFF;
        fpu->StatusWord &= unchecked((ushort)~X87StatusWord.C1);
    }

    private static void SquareRoot(Cpu cpu, DecodedInstruction* instruction) => Unary(cpu, instruction, &SquareRootOf);

    private static FloatParts SquareRootOf(in FloatParts value, ref FloatEnvironment environment, FpuState* fpu)
    {
        if (value.Class == FloatClass.Unsupported)
        {
            environment.Flags |= FloatExceptions.Invalid;
            return FloatParts.Indefinite;
        }

        if (value.IsNaN)
        {
            return X87Stack.PropagateNaN(value, value, ref environment);
        }

        if (value.Denormal)
        {
            environment.Flags |= FloatExceptions.Denormal;
        }

        return SoftFloat.SquareRoot(value, X87Stack.ResultFormat(fpu), ref environment);
    }

    private static void RoundToInteger(Cpu cpu, DecodedInstruction* instruction) => Unary(cpu, instruction, &RoundToIntegerOf);

    private static FloatParts RoundToIntegerOf(in FloatParts value, ref FloatEnvironment environment, FpuState* fpu)
    {
        if (value.Class == FloatClass.Unsupported)
        {
            environment.Flags |= FloatExceptions.Invalid;
            return FloatParts.Indefinite;
        }

        if (value.IsNaN)
        {
            return X87Stack.PropagateNaN(value, value, ref environment);
        }

        if (value.Denormal)
        {
            environment.Flags |= FloatExceptions.Denormal;
        }

        return RoundToIntegral(value, environment.Rounding, ref environment);
    }

    /// <summary>Rounds a value to an integral value in the same format (FRNDINT, FPREM's quotient, FBSTP).</summary>
    public static FloatParts RoundToIntegral(in FloatParts value, RoundingMode rounding, ref FloatEnvironment environment)
    {
        if (value.Class != FloatClass.Finite || value.Exponent >= 63)
        {
            return value;
        }

        UInt128 fixedPoint = SoftFloat.ShiftRightJam((UInt128)value.Significand << 64, 63 - value.Exponent);
        ulong integer = (ulong)(fixedPoint >> 64);
        ulong fraction = (ulong)fixedPoint;
        if (fraction == 0)
        {
            return value;
        }

        bool up = rounding switch
        {
            RoundingMode.NearestEven => fraction > (1UL << 63) || (fraction == (1UL << 63) && (integer & 1) != 0),
            RoundingMode.Down => value.Sign,
            RoundingMode.Up => !value.Sign,
            _ => false,
        };
        environment.Flags |= FloatExceptions.Precision | (up ? FloatExceptions.RoundedUp : 0);
        UInt128 magnitude = (UInt128)integer + (up ? 1u : 0u);
        if (magnitude == UInt128.Zero)
        {
            return FloatParts.Zero(value.Sign);
        }

        var exact = default(FloatEnvironment);
        return SoftFloat.RoundPack(value.Sign, 127, magnitude, FloatFormat.Extended, ref exact);
    }

    /// <summary>FSCALE: ST(0) × 2^trunc(ST(1)) (SDM 2 FSCALE, Table 3-47 for the special cases).</summary>
    private static void Scale(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!X87Stack.Begin(cpu, instruction))
        {
            return;
        }

        var fpu = cpu.Fpu;
        if (X87Stack.IsEmpty(fpu, 0) || X87Stack.IsEmpty(fpu, 1))
        {
            X87Stack.UnderflowIntoTop(cpu);

            return;
        }

        var value = X87Stack.Read(fpu, 0);
        var scale = X87Stack.Read(fpu, 1);
        var environment = X87Stack.Environment(fpu);
        // FSCALE rounds to the full 64-bit significand whatever PC says (checked against the host).
        var result = ScaleOf(value, scale, FloatFormat.Extended, ref environment);
        if (X87Stack.Commit(cpu, environment.Flags))
        {
            X87Stack.Write(fpu, 0, result);
        }
    }

    private static FloatParts ScaleOf(in FloatParts value, in FloatParts scale, in FloatFormat format, ref FloatEnvironment environment)
    {
        if (value.Class == FloatClass.Unsupported || scale.Class == FloatClass.Unsupported)
        {
            environment.Flags |= FloatExceptions.Invalid;
            return FloatParts.Indefinite;
        }

        if (value.IsNaN || scale.IsNaN)
        {
            return X87Stack.PropagateNaN(value, scale, ref environment);
        }

        if (value.Denormal || scale.Denormal)
        {
            environment.Flags |= FloatExceptions.Denormal;
        }

        if (scale.Class == FloatClass.Infinity)
        {
            bool invalid = scale.Sign ? value.Class == FloatClass.Infinity : value.Class == FloatClass.Zero;
            if (invalid)
            {
                environment.Flags |= FloatExceptions.Invalid;
                return FloatParts.Indefinite;
            }

            return value.Class is FloatClass.Zero or FloatClass.Infinity ? value : scale.Sign ? FloatParts.Zero(value.Sign) : FloatParts.Infinity(value.Sign);
        }

        if (value.Class != FloatClass.Finite)
        {
            return value;
        }

        long shift = 0;
        if (scale.Class == FloatClass.Finite && scale.Exponent >= 0)
        {
            shift = scale.Exponent >= 20 ? 1 << 20 : (long)(scale.Significand >> (63 - scale.Exponent));
            shift = scale.Sign ? -shift : shift;
        }

        return SoftFloat.RoundPack(value.Sign, value.Exponent + (int)shift, (UInt128)value.Significand << 64, format, ref environment);
    }

    /// <summary>FXTRACT: ST(0) becomes its unbiased exponent, then its significand (exponent 0) is pushed (SDM 2 FXTRACT).</summary>
    private static void Extract(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!X87Stack.Begin(cpu, instruction))
        {
            return;
        }

        var fpu = cpu.Fpu;
        if (X87Stack.IsEmpty(fpu, 0))
        {
            X87Stack.StackFault(cpu, overflow: false);
            if (X87Stack.InvalidMasked(fpu))
            {
                X87Stack.Write(fpu, 0, FloatParts.Indefinite);
                if (X87Stack.TryPush(cpu))
                {
                    X87Stack.Write(fpu, 0, FloatParts.Indefinite);
                }
            }

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

        var value = X87Stack.Read(fpu, 0);
        var environment = X87Stack.Environment(fpu);
        FloatParts exponent;
        FloatParts significand;
        switch (value.Class)
        {
            case FloatClass.Zero:
                environment.Flags |= FloatExceptions.DivideByZero;
                exponent = FloatParts.Infinity(true);
                significand = value;
                break;
            case FloatClass.Infinity:
                exponent = FloatParts.Infinity(false);
                significand = value;
                break;
            case FloatClass.Finite:
                if (value.Denormal)
                {
                    environment.Flags |= FloatExceptions.Denormal;
                }

                exponent = ExactInteger(value.Exponent);
                significand = value with { Exponent = 0, Denormal = false };
                break;
            case FloatClass.Unsupported:
                environment.Flags |= FloatExceptions.Invalid;
                exponent = FloatParts.Indefinite;
                significand = FloatParts.Indefinite;
                break;
            default:
                exponent = X87Stack.PropagateNaN(value, value, ref environment);
                significand = exponent;
                break;
        }

        if (X87Stack.Commit(cpu, environment.Flags))
        {
            X87Stack.Write(fpu, 0, exponent);
            fpu->Top = (fpu->Top - 1) & 7;
            X87Stack.Write(fpu, 0, significand);
        }
    }

    private static void PartialRemainder(Cpu cpu, DecodedInstruction* instruction) => Remainder(cpu, instruction, ieee: false);

    private static void PartialRemainderIeee(Cpu cpu, DecodedInstruction* instruction) => Remainder(cpu, instruction, ieee: true);

    /// <summary>
    /// FPREM (truncated quotient) and FPREM1 (nearest quotient), SDM 2 FPREM: when the exponents differ by less than
    /// 64 the remainder is exact and C0, C3, C1 get the quotient's low bits; otherwise a partial remainder reduces the
    /// exponent difference by a chunk and C2 asks for another iteration. The chunk is implementation-dependent
    /// (between 32 and 63 quotient bits); ours is 32 + (difference mod 32), as Bochs' does.
    /// </summary>
    private static void Remainder(Cpu cpu, DecodedInstruction* instruction, bool ieee)
    {
        if (!X87Stack.Begin(cpu, instruction))
        {
            return;
        }

        var fpu = cpu.Fpu;
        if (X87Stack.IsEmpty(fpu, 0) || X87Stack.IsEmpty(fpu, 1))
        {
            X87Stack.UnderflowIntoTop(cpu);

            return;
        }

        var dividend = X87Stack.Read(fpu, 0);
        var divisor = X87Stack.Read(fpu, 1);
        var environment = X87Stack.Environment(fpu);
        FloatParts result;
        bool incomplete = false;
        ulong quotient = 0;
        if (dividend.Class == FloatClass.Unsupported || divisor.Class == FloatClass.Unsupported)
        {
            environment.Flags |= FloatExceptions.Invalid;
            result = FloatParts.Indefinite;
        }
        else if (dividend.IsNaN || divisor.IsNaN)
        {
            result = X87Stack.PropagateNaN(dividend, divisor, ref environment);
        }
        else if (dividend.Class == FloatClass.Infinity || divisor.Class == FloatClass.Zero)
        {
            environment.Flags |= FloatExceptions.Invalid;
            result = FloatParts.Indefinite;
        }
        else
        {
            if (dividend.Denormal || divisor.Denormal)
            {
                environment.Flags |= FloatExceptions.Denormal;
            }

            if (dividend.Class == FloatClass.Zero || divisor.Class == FloatClass.Infinity)
            {
                result = dividend;
            }
            else
            {
                result = FiniteRemainder(dividend, divisor, ieee, ref environment, out quotient, out incomplete);
            }
        }

        if (X87Stack.Commit(cpu, environment.Flags))
        {
            X87Stack.Write(fpu, 0, result);
            bool c1 = (quotient & 1) != 0;
            bool c3 = (quotient & 2) != 0;
            bool c0 = (quotient & 4) != 0;
            X87Stack.SetConditionCodes(fpu, !incomplete && c3, incomplete, !incomplete && c1, !incomplete && c0);
        }
    }

    private static FloatParts FiniteRemainder(in FloatParts dividend, in FloatParts divisor, bool ieee, ref FloatEnvironment environment, out ulong quotient, out bool incomplete)
    {
        // dividend = A × 2^(ea−63) and divisor = B × 2^(eb−63); the remainder is always exact.
        int difference = dividend.Exponent - divisor.Exponent;
        ulong a = dividend.Significand;
        ulong b = divisor.Significand;
        quotient = 0;
        incomplete = false;
        var exact = new FloatEnvironment { Rounding = environment.Rounding };
        if (difference < 0)
        {
            // |dividend| < |divisor|: FPREM keeps it; FPREM1 rounds the quotient to 1 when |dividend| > |divisor| / 2.
            if (!ieee || difference < -1 || a <= b)
            {
                return dividend;
            }

            quotient = 1;
            return SoftFloat.RoundPack(!dividend.Sign, dividend.Exponent, (((UInt128)b << 1) - a) << 64, FloatFormat.Extended, ref exact);
        }

        int bits = difference;
        if (difference >= 64)
        {
            incomplete = true;
            bits = 32 | (difference & 31);
        }

        // A × 2^bits = q × B + r, a quotient chunk at a time so everything stays within 128 bits.
        UInt128 remainder = (UInt128)(a % b);
        ulong q = a / b;
        int remaining = bits;
        while (remaining > 0)
        {
            int step = Math.Min(remaining, 32);
            remainder <<= step;
            q = (q << step) + (ulong)(remainder / b);
            remainder %= b;
            remaining -= step;
        }

        bool sign = dividend.Sign;
        if (!incomplete && ieee)
        {
            UInt128 twice = remainder << 1;
            if (twice > b || (twice == b && (q & 1) != 0))
            {
                remainder = b - remainder;
                sign = !sign;
                q++;
            }
        }

        quotient = q;
        if (remainder == UInt128.Zero)
        {
            return FloatParts.Zero(dividend.Sign);
        }

        // The remainder is r × 2^(ea−63−bits): bit 127 of r << 64 weighs 2^(ea−bits).
        return SoftFloat.RoundPack(sign, dividend.Exponent - bits, remainder << 64, FloatFormat.Extended, ref exact);
    }
}

using Iced.Intel;
using Vessel.X86.Cpu.Decoding;
using Vessel.X86.Cpu.Fpu;

namespace Vessel.X86.Cpu.Execution.X87;

/// <summary>
/// x87 comparisons (Intel SDM 1 §8.3.6, SDM 2 FCOM/FUCOM/FCOMI/FTST/FXAM): condition codes C3, C2, C0 (or ZF, PF, CF
/// for FCOMI) = 000 greater, 001 less, 100 equal, 111 unordered. FCOM and FCOMI are invalid on any NaN, the FUCOM
/// forms only on an SNaN.
/// </summary>
public static unsafe class X87Comparison
{
    public static void Register(HandlerTable table)
    {
        table.Add(Code.Fcom_m32fp, &CompareMemory<X87Arithmetic.Single32, Ordered, NoPops>);
        table.Add(Code.Fcom_m64fp, &CompareMemory<X87Arithmetic.Double64, Ordered, NoPops>);
        table.Add(Code.Fcomp_m32fp, &CompareMemory<X87Arithmetic.Single32, Ordered, OnePop>);
        table.Add(Code.Fcomp_m64fp, &CompareMemory<X87Arithmetic.Double64, Ordered, OnePop>);
        table.Add(Code.Ficom_m16int, &CompareMemory<X87Arithmetic.Integer16, Ordered, NoPops>);
        table.Add(Code.Ficom_m32int, &CompareMemory<X87Arithmetic.Integer32, Ordered, NoPops>);
        table.Add(Code.Ficomp_m16int, &CompareMemory<X87Arithmetic.Integer16, Ordered, OnePop>);
        table.Add(Code.Ficomp_m32int, &CompareMemory<X87Arithmetic.Integer32, Ordered, OnePop>);
        table.Add(Code.Fcom_st0_sti, &CompareRegister<Ordered, NoPops>);
        table.Add(Code.Fcom_st0_sti_DCD0, &CompareRegister<Ordered, NoPops>);
        table.Add(Code.Fcomp_st0_sti, &CompareRegister<Ordered, OnePop>);
        table.Add(Code.Fcomp_st0_sti_DCD8, &CompareRegister<Ordered, OnePop>);
        table.Add(Code.Fcomp_st0_sti_DED0, &CompareRegister<Ordered, OnePop>);
        table.Add(Code.Fcompp, &CompareRegister<Ordered, TwoPops>);
        table.Add(Code.Fucom_st0_sti, &CompareRegister<Unordered, NoPops>);
        table.Add(Code.Fucomp_st0_sti, &CompareRegister<Unordered, OnePop>);
        table.Add(Code.Fucompp, &CompareRegister<Unordered, TwoPops>);
        table.Add(Code.Fcomi_st0_sti, &CompareToFlags<Ordered, NoPops>);
        table.Add(Code.Fcomip_st0_sti, &CompareToFlags<Ordered, OnePop>);
        table.Add(Code.Fucomi_st0_sti, &CompareToFlags<Unordered, NoPops>);
        table.Add(Code.Fucomip_st0_sti, &CompareToFlags<Unordered, OnePop>);
        table.Add(Code.Ftst, &Test);
        table.Add(Code.Fxam, &Examine);
    }

    /// <summary>FCOM (invalid on any NaN) or FUCOM (invalid only on an SNaN).</summary>
    private interface IOrdering
    {
        static abstract bool SignalsOnQuietNaN { get; }
    }

    private readonly struct Ordered : IOrdering
    {
        public static bool SignalsOnQuietNaN => true;
    }

    private readonly struct Unordered : IOrdering
    {
        public static bool SignalsOnQuietNaN => false;
    }

    /// <summary>How many times the comparison pops.</summary>
    private interface IPops
    {
        static abstract int Count { get; }
    }

    private readonly struct NoPops : IPops
    {
        public static int Count => 0;
    }

    private readonly struct OnePop : IPops
    {
        public static int Count => 1;
    }

    private readonly struct TwoPops : IPops
    {
        public static int Count => 2;
    }

    /// <summary>−1, 0, 1, or 2 for unordered; raises invalid and denormal as the comparison defines.</summary>
    public static int Compare(in FloatParts a, in FloatParts b, bool signalsOnQuietNaN, ref FloatEnvironment environment)
    {
        if (a.Class == FloatClass.Unsupported || b.Class == FloatClass.Unsupported)
        {
            environment.Flags |= FloatExceptions.Invalid;
            return 2;
        }

        if (a.IsNaN || b.IsNaN)
        {
            if (signalsOnQuietNaN || a.Class == FloatClass.SignalingNaN || b.Class == FloatClass.SignalingNaN)
            {
                environment.Flags |= FloatExceptions.Invalid;
            }

            return 2;
        }

        if (a.Denormal || b.Denormal)
        {
            environment.Flags |= FloatExceptions.Denormal;
        }

        return SoftFloat.Compare(a, b);
    }

    private static void SetCodes(FpuState* fpu, int order) =>
        X87Stack.SetConditionCodes(fpu, order is 0 or 2, order == 2, false, order is -1 or 2);

    private static void CompareMemory<TOperand, TOrdering, TPops>(Cpu cpu, DecodedInstruction* instruction)
        where TOperand : X87Arithmetic.IMemoryOperand
        where TOrdering : IOrdering
        where TPops : IPops
    {
        if (X87Stack.Begin(cpu, instruction) && TOperand.TryRead(cpu, X87Stack.OperandAddress(cpu, instruction), out var source))
        {
            Finish<TOrdering>(cpu, source, fromRegister: -1, TPops.Count, flags: false);
        }
    }

    private static void CompareRegister<TOrdering, TPops>(Cpu cpu, DecodedInstruction* instruction)
        where TOrdering : IOrdering
        where TPops : IPops
    {
        if (X87Stack.Begin(cpu, instruction))
        {
            int other = TPops.Count == 2 ? 1 : instruction->Operand1Register;
            Finish<TOrdering>(cpu, default, other, TPops.Count, flags: false);
        }
    }

    private static void CompareToFlags<TOrdering, TPops>(Cpu cpu, DecodedInstruction* instruction)
        where TOrdering : IOrdering
        where TPops : IPops
    {
        if (X87Stack.Begin(cpu, instruction))
        {
            Finish<TOrdering>(cpu, default, instruction->Operand1Register, TPops.Count, flags: true);
        }
    }

    private static void Finish<TOrdering>(Cpu cpu, FloatParts source, int fromRegister, int pops, bool flags)
        where TOrdering : IOrdering
    {
        var fpu = cpu.Fpu;
        int order;
        var environment = default(FloatEnvironment);
        if (X87Stack.IsEmpty(fpu, 0) || (fromRegister >= 0 && X87Stack.IsEmpty(fpu, fromRegister)))
        {
            X87Stack.StackFault(cpu, overflow: false);
            if (!X87Stack.InvalidMasked(fpu))
            {
                return;
            }

            order = 2;
        }
        else
        {
            if (fromRegister >= 0)
            {
                source = X87Stack.Read(fpu, fromRegister);
            }

            order = Compare(X87Stack.Read(fpu, 0), source, TOrdering.SignalsOnQuietNaN, ref environment);
            if (!X87Stack.Commit(cpu, environment.Flags, denormalBlocks: false))
            {
                return;
            }
        }

        if (flags)
        {
            RflagsBits bits = order switch
            {
                0 => RflagsBits.Zero,
                -1 => RflagsBits.Carry,
                1 => RflagsBits.None,
                _ => RflagsBits.Zero | RflagsBits.Parity | RflagsBits.Carry,
            };
            cpu.Rflags = (cpu.Rflags & ~(ulong)RflagsBits.Arithmetic) | (ulong)bits;
            fpu->StatusWord &= unchecked((ushort)~X87StatusWord.C1);
        }
        else
        {
            SetCodes(fpu, order);
        }

        // An unmasked denormal operand still sets the condition codes, but the stack is not popped (checked against the host).
        bool unmaskedDenormal = (environment.Flags & FloatExceptions.Denormal) != 0 && (fpu->ControlWord & (ushort)FloatExceptions.Denormal) == 0
            && (environment.Flags & FloatExceptions.Invalid) == 0;
        for (int i = 0; i < pops && !unmaskedDenormal; i++)
        {
            X87Stack.Pop(fpu);
        }
    }

    /// <summary>FTST: compares ST(0) with +0.0.</summary>
    private static void Test(Cpu cpu, DecodedInstruction* instruction)
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
                SetCodes(fpu, 2);
            }

            return;
        }

        var environment = default(FloatEnvironment);
        int order = Compare(X87Stack.Read(fpu, 0), FloatParts.Zero(false), true, ref environment);
        if (X87Stack.Commit(cpu, environment.Flags, denormalBlocks: false))
        {
            SetCodes(fpu, order);
        }
    }

    /// <summary>FXAM: classifies ST(0) into C3, C2, C0 with its sign in C1; never raises an exception (SDM 2 FXAM, "FXAM Results").</summary>
    private static void Examine(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!X87Stack.Begin(cpu, instruction))
        {
            return;
        }

        var fpu = cpu.Fpu;
        int physical = X87Stack.PhysicalIndex(fpu, 0);
        bool sign = (fpu->Physical[(physical * 2) + 1] & 0x8000) != 0;
        if (X87Stack.IsEmpty(fpu, 0))
        {
            X87Stack.SetConditionCodes(fpu, true, false, sign, true);
            return;
        }

        var value = X87Stack.Read(fpu, 0);
        (bool c3, bool c2, bool c0) = value.Class switch
        {
            FloatClass.Unsupported => (false, false, false),
            FloatClass.QuietNaN or FloatClass.SignalingNaN => (false, false, true),
            FloatClass.Infinity => (false, true, true),
            FloatClass.Zero => (true, false, false),
            _ => value.Denormal ? (true, true, false) : (false, true, false),
        };
        X87Stack.SetConditionCodes(fpu, c3, c2, sign, c0);
    }
}

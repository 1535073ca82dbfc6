using Iced.Intel;
using Vessel.X86.Cpu.Decoding;
using Vessel.X86.Cpu.Fpu;

namespace Vessel.X86.Cpu.Execution.X87;

/// <summary>
/// x87 data transfer (Intel SDM 1 §8.3.3-8.3.4): FLD/FST/FSTP in every format, FILD/FIST/FISTP/FISTTP, FBLD/FBSTP,
/// FXCH, FCMOVcc and the constant loads. 80-bit loads and stores copy the register bits exactly.
/// </summary>
public static unsafe class X87DataTransfer
{
    public static void Register(HandlerTable table)
    {
        table.Add(Code.Fld_m32fp, &LoadFloat<X87Arithmetic.Single32>);
        table.Add(Code.Fld_m64fp, &LoadFloat<X87Arithmetic.Double64>);
        table.Add(Code.Fld_m80fp, &LoadExtended);
        table.Add(Code.Fld_sti, &LoadRegister);
        table.Add(Code.Fild_m16int, &LoadFloat<X87Arithmetic.Integer16>);
        table.Add(Code.Fild_m32int, &LoadFloat<X87Arithmetic.Integer32>);
        table.Add(Code.Fild_m64int, &LoadFloat<X87Arithmetic.Integer64>);
        table.Add(Code.Fbld_m80bcd, &LoadBcd);

        table.Add(Code.Fst_m32fp, &StoreFloat<SingleStore, X87Arithmetic.NoPop>);
        table.Add(Code.Fst_m64fp, &StoreFloat<DoubleStore, X87Arithmetic.NoPop>);
        table.Add(Code.Fstp_m32fp, &StoreFloat<SingleStore, X87Arithmetic.PopAfter>);
        table.Add(Code.Fstp_m64fp, &StoreFloat<DoubleStore, X87Arithmetic.PopAfter>);
        table.Add(Code.Fstp_m80fp, &StoreExtended);
        table.Add(Code.Fst_sti, &StoreRegister<X87Arithmetic.NoPop>);
        foreach (var code in new[] { Code.Fstp_sti, Code.Fstp_sti_DFD0, Code.Fstp_sti_DFD8, Code.Fstpnce_sti })
        {
            table.Add(code, &StoreRegister<X87Arithmetic.PopAfter>);
        }

        table.Add(Code.Fist_m16int, &StoreInteger<Integer16Store, X87Arithmetic.NoPop, RoundByControl>);
        table.Add(Code.Fist_m32int, &StoreInteger<Integer32Store, X87Arithmetic.NoPop, RoundByControl>);
        table.Add(Code.Fistp_m16int, &StoreInteger<Integer16Store, X87Arithmetic.PopAfter, RoundByControl>);
        table.Add(Code.Fistp_m32int, &StoreInteger<Integer32Store, X87Arithmetic.PopAfter, RoundByControl>);
        table.Add(Code.Fistp_m64int, &StoreInteger<Integer64Store, X87Arithmetic.PopAfter, RoundByControl>);
        table.Add(Code.Fisttp_m16int, &StoreInteger<Integer16Store, X87Arithmetic.PopAfter, Truncate>);
        table.Add(Code.Fisttp_m32int, &StoreInteger<Integer32Store, X87Arithmetic.PopAfter, Truncate>);
        table.Add(Code.Fisttp_m64int, &StoreInteger<Integer64Store, X87Arithmetic.PopAfter, Truncate>);
        table.Add(Code.Fbstp_m80bcd, &StoreBcd);

        foreach (var code in new[] { Code.Fxch_st0_sti, Code.Fxch_st0_sti_DDC8, Code.Fxch_st0_sti_DFC8 })
        {
            table.Add(code, &Exchange);
        }

        table.Add(Code.Fcmovb_st0_sti, &ConditionalMove<Below>);
        table.Add(Code.Fcmove_st0_sti, &ConditionalMove<Equal>);
        table.Add(Code.Fcmovbe_st0_sti, &ConditionalMove<BelowOrEqual>);
        table.Add(Code.Fcmovu_st0_sti, &ConditionalMove<Unordered>);
        table.Add(Code.Fcmovnb_st0_sti, &ConditionalMove<NotBelow>);
        table.Add(Code.Fcmovne_st0_sti, &ConditionalMove<NotEqual>);
        table.Add(Code.Fcmovnbe_st0_sti, &ConditionalMove<NotBelowOrEqual>);
        table.Add(Code.Fcmovnu_st0_sti, &ConditionalMove<NotUnordered>);

        table.Add(Code.Fld1, &LoadConstant<One>);
        table.Add(Code.Fldz, &LoadConstant<Zero>);
        table.Add(Code.Fldpi, &LoadConstant<Pi>);
        table.Add(Code.Fldl2e, &LoadConstant<Log2E>);
        table.Add(Code.Fldl2t, &LoadConstant<Log2Ten>);
        table.Add(Code.Fldlg2, &LoadConstant<Log10Two>);
        table.Add(Code.Fldln2, &LoadConstant<LnTwo>);
    }

    /// <summary>Pushes <paramref name="value"/> after reporting <paramref name="raised"/>; the push checks for overflow first.</summary>
    private static void Push(Cpu cpu, in FloatParts value, FloatExceptions raised)
    {
        var fpu = cpu.Fpu;
        if (!X87Stack.IsEmpty(fpu, 7))
        {
            X87Stack.TryPush(cpu);
            return;
        }

        if (X87Stack.Commit(cpu, raised, denormalBlocks: false))
        {
            X87Stack.TryPush(cpu);
            X87Stack.Write(fpu, 0, value);
        }
    }

    /// <summary>FLD m32fp/m64fp and FILD: SNaN operands are invalid and quieted, denormals flag DE (SDM 2 FLD).</summary>
    private static void LoadFloat<TOperand>(Cpu cpu, DecodedInstruction* instruction)
        where TOperand : X87Arithmetic.IMemoryOperand
    {
        if (!X87Stack.Begin(cpu, instruction) || !TOperand.TryRead(cpu, X87Stack.OperandAddress(cpu, instruction), out var value))
        {
            return;
        }

        var raised = FloatExceptions.None;
        if (value.Class == FloatClass.SignalingNaN)
        {
            raised |= FloatExceptions.Invalid;
            value = value.Quieted();
        }
        else if (value.Denormal)
        {
            raised |= FloatExceptions.Denormal;
            value.Denormal = false;
        }

        Push(cpu, value, raised);
    }

    private static void LoadExtended(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!X87Stack.Begin(cpu, instruction))
        {
            return;
        }

        ulong address = X87Stack.OperandAddress(cpu, instruction);
        if (!cpu.TryRead(address, out ulong significand) || !cpu.TryRead(address + 8, out ushort signExponent))
        {
            return;
        }

        var fpu = cpu.Fpu;
        if (!X87Stack.IsEmpty(fpu, 7))
        {
            X87Stack.TryPush(cpu);
            return;
        }

        X87Stack.Commit(cpu, FloatExceptions.None);
        X87Stack.TryPush(cpu);
        X87Stack.WriteRaw(fpu, 0, significand, signExponent);
    }

    private static void LoadRegister(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!X87Stack.Begin(cpu, instruction))
        {
            return;
        }

        var fpu = cpu.Fpu;
        int source = instruction->Operand0Register;
        if (X87Stack.IsEmpty(fpu, source))
        {
            X87Stack.StackFault(cpu, overflow: false);
            if (X87Stack.InvalidMasked(fpu) && X87Stack.TryPush(cpu))
            {
                X87Stack.Write(fpu, 0, FloatParts.Indefinite);
            }

            return;
        }

        int physical = X87Stack.PhysicalIndex(fpu, source);
        ulong significand = fpu->Physical[physical * 2];
        ushort signExponent = (ushort)fpu->Physical[(physical * 2) + 1];
        if (!X87Stack.IsEmpty(fpu, 7))
        {
            X87Stack.TryPush(cpu);
            return;
        }

        X87Stack.Commit(cpu, FloatExceptions.None);
        X87Stack.TryPush(cpu);
        X87Stack.WriteRaw(fpu, 0, significand, signExponent);
    }

    /// <summary>A memory format ST(0) can be stored to, rounded by RC (PC does not apply to stores).</summary>
    private interface IFloatStore
    {
        static abstract FloatFormat Format { get; }

        static abstract bool TryWrite(Cpu cpu, ulong address, ulong bits);
    }

    private readonly struct SingleStore : IFloatStore
    {
        public static FloatFormat Format => FloatFormat.Single;

        public static bool TryWrite(Cpu cpu, ulong address, ulong bits) => cpu.TryWrite(address, (uint)bits);
    }

    private readonly struct DoubleStore : IFloatStore
    {
        public static FloatFormat Format => FloatFormat.Double;

        public static bool TryWrite(Cpu cpu, ulong address, ulong bits) => cpu.TryWrite(address, bits);
    }

    /// <summary>
    /// Reads ST(0) for a store, or reports a stack underflow; false when nothing may be stored (an unmasked underflow).
    /// A masked underflow stores the indefinite, as the value read.
    /// </summary>
    private static bool TryReadTop(Cpu cpu, out FloatParts value)
    {
        var fpu = cpu.Fpu;
        if (X87Stack.IsEmpty(fpu, 0))
        {
            X87Stack.StackFault(cpu, overflow: false);
            value = FloatParts.Indefinite;
            return X87Stack.InvalidMasked(fpu);
        }

        value = X87Stack.Read(fpu, 0);
        return true;
    }

    private static void StoreFloat<TStore, TPop>(Cpu cpu, DecodedInstruction* instruction)
        where TStore : IFloatStore
        where TPop : X87Arithmetic.IPop
    {
        if (!X87Stack.Begin(cpu, instruction))
        {
            return;
        }

        ulong address = X87Stack.OperandAddress(cpu, instruction);
        var fpu = cpu.Fpu;
        bool empty = X87Stack.IsEmpty(fpu, 0);
        if (!TryReadTop(cpu, out var value))
        {
            return;
        }

        var environment = X87Stack.Environment(fpu);
        var format = TStore.Format;
        FloatParts result;
        if (value.Class == FloatClass.Unsupported)
        {
            environment.Flags |= FloatExceptions.Invalid;
            result = FloatParts.Indefinite;
        }
        else if (value.IsNaN)
        {
            if (value.Class == FloatClass.SignalingNaN)
            {
                environment.Flags |= FloatExceptions.Invalid;
            }

            result = value.Quieted();
        }
        else
        {
            result = SoftFloat.Round(value, format, ref environment);
        }

        if (!empty && !X87Stack.Commit(cpu, environment.Flags))
        {
            return;
        }

        if (!empty && ((ushort)environment.Flags & ~fpu->ControlWord & (ushort)(FloatExceptions.Overflow | FloatExceptions.Underflow)) != 0)
        {
            // SDM 1 §8.5.4-8.5.5: an unmasked overflow or underflow on a store to memory leaves memory unchanged.
            return;
        }

        if (TStore.TryWrite(cpu, address, SoftFloat.Encode(result, format)) && TPop.Pop)
        {
            X87Stack.Pop(fpu);
        }
    }

    private static void StoreExtended(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!X87Stack.Begin(cpu, instruction))
        {
            return;
        }

        ulong address = X87Stack.OperandAddress(cpu, instruction);
        var fpu = cpu.Fpu;
        ulong significand;
        ushort signExponent;
        if (X87Stack.IsEmpty(fpu, 0))
        {
            X87Stack.StackFault(cpu, overflow: false);
            if (!X87Stack.InvalidMasked(fpu))
            {
                return;
            }

            (significand, signExponent) = SoftFloat.EncodeExtended(FloatParts.Indefinite);
        }
        else
        {
            int physical = X87Stack.PhysicalIndex(fpu, 0);
            significand = fpu->Physical[physical * 2];
            signExponent = (ushort)fpu->Physical[(physical * 2) + 1];
            fpu->StatusWord &= unchecked((ushort)~X87StatusWord.C1);
        }

        Span<byte> bytes = stackalloc byte[10];
        System.Runtime.InteropServices.MemoryMarshal.Write(bytes, in significand);
        System.Runtime.InteropServices.MemoryMarshal.Write(bytes[8..], in signExponent);
        if (cpu.TryWriteBytes(address, bytes))
        {
            X87Stack.Pop(fpu);
        }
    }

    private static void StoreRegister<TPop>(Cpu cpu, DecodedInstruction* instruction)
        where TPop : X87Arithmetic.IPop
    {
        if (!X87Stack.Begin(cpu, instruction))
        {
            return;
        }

        var fpu = cpu.Fpu;
        int destination = instruction->Operand0Register;
        if (X87Stack.IsEmpty(fpu, 0))
        {
            X87Stack.StackFault(cpu, overflow: false);
            if (!X87Stack.InvalidMasked(fpu))
            {
                return;
            }

            X87Stack.Write(fpu, destination, FloatParts.Indefinite);
        }
        else
        {
            int physical = X87Stack.PhysicalIndex(fpu, 0);
            X87Stack.WriteRaw(fpu, destination, fpu->Physical[physical * 2], (ushort)fpu->Physical[(physical * 2) + 1]);
            fpu->StatusWord &= unchecked((ushort)~X87StatusWord.C1);
        }

        if (TPop.Pop)
        {
            X87Stack.Pop(fpu);
        }
    }

    /// <summary>An integer memory format for FIST/FISTP/FISTTP.</summary>
    private interface IIntegerStore
    {
        static abstract int Bits { get; }

        static abstract bool TryWrite(Cpu cpu, ulong address, long value);
    }

    private readonly struct Integer16Store : IIntegerStore
    {
        public static int Bits => 16;

        public static bool TryWrite(Cpu cpu, ulong address, long value) => cpu.TryWrite(address, (ushort)value);
    }

    private readonly struct Integer32Store : IIntegerStore
    {
        public static int Bits => 32;

        public static bool TryWrite(Cpu cpu, ulong address, long value) => cpu.TryWrite(address, (uint)value);
    }

    private readonly struct Integer64Store : IIntegerStore
    {
        public static int Bits => 64;

        public static bool TryWrite(Cpu cpu, ulong address, long value) => cpu.TryWrite(address, value);
    }

    /// <summary>FIST/FISTP round by RC; FISTTP (SSE3) truncates.</summary>
    private interface IIntegerRounding
    {
        static abstract bool Truncates { get; }
    }

    private readonly struct RoundByControl : IIntegerRounding
    {
        public static bool Truncates => false;
    }

    private readonly struct Truncate : IIntegerRounding
    {
        public static bool Truncates => true;
    }

    private static void StoreInteger<TStore, TPop, TRounding>(Cpu cpu, DecodedInstruction* instruction)
        where TStore : IIntegerStore
        where TPop : X87Arithmetic.IPop
        where TRounding : IIntegerRounding
    {
        if (!X87Stack.Begin(cpu, instruction))
        {
            return;
        }

        ulong address = X87Stack.OperandAddress(cpu, instruction);
        var fpu = cpu.Fpu;
        bool empty = X87Stack.IsEmpty(fpu, 0);
        if (!TryReadTop(cpu, out var value))
        {
            return;
        }

        var environment = X87Stack.Environment(fpu);
        long result;
        if (value.Class == FloatClass.Unsupported)
        {
            environment.Flags |= FloatExceptions.Invalid;
            result = TStore.Bits == 64 ? long.MinValue : -(1L << (TStore.Bits - 1));
        }
        else
        {
            // Integer stores do not report denormal operands (checked against the host).
            var rounding = TRounding.Truncates ? RoundingMode.TowardZero : environment.Rounding;
            var integral = X87Arithmetic.RoundToIntegral(value, rounding, ref environment);
            result = SoftFloat.ToInteger(integral, TStore.Bits, RoundingMode.TowardZero, ref environment);
            if ((environment.Flags & FloatExceptions.Invalid) != 0)
            {
                environment.Flags &= ~(FloatExceptions.Precision | FloatExceptions.RoundedUp);
            }
        }

        if (!empty && !X87Stack.Commit(cpu, environment.Flags))
        {
            return;
        }

        if (TStore.TryWrite(cpu, address, result) && TPop.Pop)
        {
            X87Stack.Pop(fpu);
        }
    }

    /// <summary>FBLD: 18 packed BCD digits and a sign byte, converted exactly (SDM 2 FBLD).</summary>
    private static void LoadBcd(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!X87Stack.Begin(cpu, instruction))
        {
            return;
        }

        Span<byte> bytes = stackalloc byte[10];
        if (!cpu.TryReadBytes(X87Stack.OperandAddress(cpu, instruction), bytes, Paging.AccessKind.Read))
        {
            return;
        }

        long magnitude = 0;
        for (int i = 8; i >= 0; i--)
        {
            magnitude = (magnitude * 100) + ((bytes[i] >> 4) * 10) + (bytes[i] & 0xF);
        }

        var value = X87Arithmetic.ExactInteger(magnitude);
        if ((bytes[9] & 0x80) != 0)
        {
            value.Sign = true;
        }

        Push(cpu, value, FloatExceptions.None);
    }

    /// <summary>FBSTP: rounds by RC to 18 BCD digits; out of range or NaN stores the BCD indefinite (SDM 2 FBSTP).</summary>
    private static void StoreBcd(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!X87Stack.Begin(cpu, instruction))
        {
            return;
        }

        ulong address = X87Stack.OperandAddress(cpu, instruction);
        var fpu = cpu.Fpu;
        bool empty = X87Stack.IsEmpty(fpu, 0);
        if (!TryReadTop(cpu, out var value))
        {
            return;
        }

        var environment = X87Stack.Environment(fpu);
        Span<byte> bytes = stackalloc byte[10];
        bool valid = value.Class is FloatClass.Zero or FloatClass.Finite;
        ulong magnitude = 0;
        if (valid)
        {
            var integral = X87Arithmetic.RoundToIntegral(value, environment.Rounding, ref environment);
            var scratch = default(FloatEnvironment);
            long integer = integral.Class == FloatClass.Zero ? 0 : SoftFloat.ToInteger(integral with { Sign = false }, 64, RoundingMode.TowardZero, ref scratch);
            valid = (scratch.Flags & FloatExceptions.Invalid) == 0 && integer <= 999_999_999_999_999_999;
            magnitude = (ulong)integer;
        }

        if (!valid)
        {
            environment.Flags = FloatExceptions.Invalid;
            bytes[7] = 0xC0;
            bytes[8] = 0xFF;
            bytes[9] = 0xFF;
        }
        else
        {
            for (int i = 0; i < 9; i++)
            {
                int low = (int)(magnitude % 10);
                magnitude /= 10;
                int high = (int)(magnitude % 10);
                magnitude /= 10;
                bytes[i] = (byte)((high << 4) | low);
            }

            bytes[9] = value.Sign ? (byte)0x80 : (byte)0;
        }

        if (!empty && !X87Stack.Commit(cpu, environment.Flags))
        {
            return;
        }

        if (cpu.TryWriteBytes(address, bytes))
        {
            X87Stack.Pop(fpu);
        }
    }

    /// <summary>FXCH: swaps ST(0) and ST(i); an empty one reads as the indefinite under a masked underflow.</summary>
    private static void Exchange(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!X87Stack.Begin(cpu, instruction))
        {
            return;
        }

        var fpu = cpu.Fpu;
        int other = instruction->Operand1Register;
        if (X87Stack.IsEmpty(fpu, 0) || X87Stack.IsEmpty(fpu, other))
        {
            X87Stack.StackFault(cpu, overflow: false);
            if (!X87Stack.InvalidMasked(fpu))
            {
                return;
            }

            if (X87Stack.IsEmpty(fpu, 0))
            {
                X87Stack.Write(fpu, 0, FloatParts.Indefinite);
            }

            if (X87Stack.IsEmpty(fpu, other))
            {
                X87Stack.Write(fpu, other, FloatParts.Indefinite);
            }
        }
        else
        {
            fpu->StatusWord &= unchecked((ushort)~X87StatusWord.C1);
        }

        int a = X87Stack.PhysicalIndex(fpu, 0);
        int b = X87Stack.PhysicalIndex(fpu, other);
        (fpu->Physical[a * 2], fpu->Physical[b * 2]) = (fpu->Physical[b * 2], fpu->Physical[a * 2]);
        (fpu->Physical[(a * 2) + 1], fpu->Physical[(b * 2) + 1]) = (fpu->Physical[(b * 2) + 1], fpu->Physical[(a * 2) + 1]);
    }

    /// <summary>An FCMOV condition as a Jcc condition code (Intel SDM 1 Appendix B): B, E, BE, U(P) and their negations.</summary>
    private interface ICondition
    {
        static abstract int Code { get; }
    }

    private readonly struct Below : ICondition
    {
        public static int Code => 2;
    }

    private readonly struct NotBelow : ICondition
    {
        public static int Code => 3;
    }

    private readonly struct Equal : ICondition
    {
        public static int Code => 4;
    }

    private readonly struct NotEqual : ICondition
    {
        public static int Code => 5;
    }

    private readonly struct BelowOrEqual : ICondition
    {
        public static int Code => 6;
    }

    private readonly struct NotBelowOrEqual : ICondition
    {
        public static int Code => 7;
    }

    private readonly struct Unordered : ICondition
    {
        public static int Code => 10;
    }

    private readonly struct NotUnordered : ICondition
    {
        public static int Code => 11;
    }

    /// <summary>FCMOVcc ST(0), ST(i) (SDM 2 FCMOVcc).</summary>
    private static void ConditionalMove<TCondition>(Cpu cpu, DecodedInstruction* instruction)
        where TCondition : ICondition
    {
        if (!X87Stack.Begin(cpu, instruction))
        {
            return;
        }

        var fpu = cpu.Fpu;
        int source = instruction->Operand1Register;
        if (X87Stack.IsEmpty(fpu, 0) || X87Stack.IsEmpty(fpu, source))
        {
            X87Stack.UnderflowIntoTop(cpu);

            return;
        }

        fpu->StatusWord &= unchecked((ushort)~X87StatusWord.C1);
        if (cpu.Condition(TCondition.Code))
        {
            int physical = X87Stack.PhysicalIndex(fpu, source);
            X87Stack.WriteRaw(fpu, 0, fpu->Physical[physical * 2], (ushort)fpu->Physical[(physical * 2) + 1]);
        }
    }

    /// <summary>
    /// A constant the x87 holds to more than 64 bits and rounds by RC when loading (SDM 1 §8.3.9): significand bits
    /// beyond the 64 stored ones decide the rounding.
    /// </summary>
    private interface IConstant
    {
        static abstract ulong Significand { get; }

        static abstract ulong Extra { get; }

        static abstract int Exponent { get; }
    }

    private readonly struct One : IConstant
    {
        public static ulong Significand => 0x8000_0000_0000_0000;

        public static ulong Extra => 0;

        public static int Exponent => 0;
    }

    private readonly struct Zero : IConstant
    {
        public static ulong Significand => 0;

        public static ulong Extra => 0;

        public static int Exponent => 0;
    }

    private readonly struct Pi : IConstant
    {
        public static ulong Significand => 0xC90F_DAA2_2168_C234;

        public static ulong Extra => 0xC4C6_628B_80DC_1CD1;

        public static int Exponent => 1;
    }

    private readonly struct Log2E : IConstant
    {
        public static ulong Significand => 0xB8AA_3B29_5C17_F0BB;

        public static ulong Extra => 0xBE87_FED0_691D_3E89;

        public static int Exponent => 0;
    }

    private readonly struct Log2Ten : IConstant
    {
        public static ulong Significand => 0xD49A_784B_CD1B_8AFE;

        public static ulong Extra => 0x492B_F6FF_4DAF_DB4C;

        public static int Exponent => 1;
    }

    private readonly struct Log10Two : IConstant
    {
        public static ulong Significand => 0x9A20_9A84_FBCF_F798;

        public static ulong Extra => 0x8F89_59AC_0B7C_9178;

        public static int Exponent => -2;
    }

    private readonly struct LnTwo : IConstant
    {
        public static ulong Significand => 0xB172_17F7_D1CF_79AB;

        public static ulong Extra => 0xC9E3_B398_03F2_F6AF;

        public static int Exponent => -1;
    }

    private static void LoadConstant<TConstant>(Cpu cpu, DecodedInstruction* instruction)
        where TConstant : IConstant
    {
        if (!X87Stack.Begin(cpu, instruction))
        {
            return;
        }

        var environment = X87Stack.Environment(cpu.Fpu);
        var value = TConstant.Significand == 0
            ? FloatParts.Zero(false)
            : SoftFloat.RoundPack(false, TConstant.Exponent, ((UInt128)TConstant.Significand << 64) | TConstant.Extra, FloatFormat.Extended, ref environment);

        // Constant loads report no precision exception and leave C1 clear.
        Push(cpu, value, FloatExceptions.None);
    }
}

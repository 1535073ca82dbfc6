using System.Runtime.CompilerServices;
using Vessel.X86.Cpu.Decoding;
using Vessel.X86.Cpu.Fpu;

namespace Vessel.X86.Cpu.Execution.X87;

/// <summary>
/// The x87 register stack and status reporting shared by the x87 instruction families: ST(i) addressing relative to
/// TOP, tags, push and pop with stack faults, the #NM/#MF checks before an instruction, and exception reporting into
/// FSW with the masked responses of Intel SDM 1 §8.5.
/// </summary>
public static unsafe class X87Stack
{
    /// <summary>The physical register of ST(i); masked to 0-7, so every FpuState.Physical access through it is in bounds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int PhysicalIndex(FpuState* fpu, int stackIndex) => (fpu->Top + stackIndex) & 7;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsEmpty(FpuState* fpu, int stackIndex) => (fpu->TagValid & (1 << PhysicalIndex(fpu, stackIndex))) == 0;

    public static FloatParts Read(FpuState* fpu, int stackIndex)
    {
        int physical = PhysicalIndex(fpu, stackIndex);
        return SoftFloat.DecodeExtended(fpu->Physical[physical * 2], (ushort)fpu->Physical[(physical * 2) + 1]);
    }

    public static void Write(FpuState* fpu, int stackIndex, in FloatParts value)
    {
        var (significand, signExponent) = SoftFloat.EncodeExtended(value);
        WriteRaw(fpu, stackIndex, significand, signExponent);
    }

    public static void WriteRaw(FpuState* fpu, int stackIndex, ulong significand, ushort signExponent)
    {
        int physical = PhysicalIndex(fpu, stackIndex);
        fpu->Physical[physical * 2] = significand;
        fpu->Physical[(physical * 2) + 1] = signExponent;
        fpu->TagValid |= (byte)(1 << physical);
    }

    public static void Pop(FpuState* fpu)
    {
        fpu->TagValid &= (byte)~(1 << PhysicalIndex(fpu, 0));
        fpu->Top = (fpu->Top + 1) & 7;
    }

    /// <summary>
    /// Makes room for a push: false after a stack overflow (the new ST(0) was in use) whose masked response
    /// (loading the indefinite) has been applied, or whose unmasked response leaves the stack alone.
    /// </summary>
    public static bool TryPush(Cpu cpu)
    {
        var fpu = cpu.Fpu;
        int physical = (fpu->Top - 1) & 7;
        if ((fpu->TagValid & (1 << physical)) != 0)
        {
            StackFault(cpu, overflow: true);
            if (InvalidMasked(fpu))
            {
                fpu->Top = physical;
                Write(fpu, 0, FloatParts.Indefinite);
            }

            return false;
        }

        fpu->Top = physical;
        return true;
    }

    public static bool InvalidMasked(FpuState* fpu) => (fpu->ControlWord & (ushort)FloatExceptions.Invalid) != 0;

    /// <summary>
    /// An operand register was empty: a stack underflow, and with #IS masked ST(0) receives the real indefinite
    /// (SDM 1 §8.5.1.1).
    /// </summary>
    public static void UnderflowIntoTop(Cpu cpu)
    {
        StackFault(cpu, overflow: false);
        if (InvalidMasked(cpu.Fpu))
        {
            Write(cpu.Fpu, 0, FloatParts.Indefinite);
        }
    }

    /// <summary>A stack overflow or underflow: IE and SF, with C1 telling which (SDM 1 §8.5.1.1).</summary>
    public static void StackFault(Cpu cpu, bool overflow)
    {
        var fpu = cpu.Fpu;
        ushort status = (ushort)((fpu->StatusWord & ~X87StatusWord.C1) | (ushort)FloatExceptions.Invalid | X87StatusWord.StackFault);
        if (overflow)
        {
            status |= X87StatusWord.C1;
        }

        if (!InvalidMasked(fpu))
        {
            status |= X87StatusWord.ErrorSummary | X87StatusWord.Busy;
        }

        fpu->StatusWord = status;
    }

    /// <summary>
    /// Before an x87 instruction: #NM if CR0.EM or CR0.TS (SDM 3A Table 2-2); #MF if an unmasked exception is pending
    /// and CR0.NE is set (SDM 1 §8.7); then FIP/FDP record this instruction (FOP is not recorded and reads 0).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Begin(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!cpu.X87Available())
        {
            return false;
        }

        var fpu = cpu.Fpu;
        if ((fpu->StatusWord & X87StatusWord.ErrorSummary) != 0 && (cpu.Cr0 & (ulong)ControlRegister0.NumericError) != 0)
        {
            cpu.RaiseException(ExceptionVector.FloatingPointError);
            return false;
        }

        fpu->InstructionPointer = cpu.Rip - instruction->Length;
        return true;
    }

    /// <summary>Records FDP for an instruction with a memory operand and returns its linear address.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong OperandAddress(Cpu cpu, DecodedInstruction* instruction)
    {
        ulong linear = instruction->LinearAddress(cpu.State);
        cpu.Fpu->DataPointer = instruction->EffectiveAddress(cpu.State);
        return linear;
    }

    /// <summary>The rounding the FCW selects, for an arithmetic result (PC applies) or a store (it does not).</summary>
    public static FloatEnvironment Environment(FpuState* fpu) => new()
    {
        Rounding = (RoundingMode)((fpu->ControlWord >> X87ControlWord.RoundingShift) & 3),
    };

    public static FloatFormat ResultFormat(FpuState* fpu) => FloatFormat.ExtendedWithPrecision(X87ControlWord.Precision(fpu->ControlWord));

    /// <summary>
    /// Reports an instruction's exceptions: flags into FSW, C1 from the rounding direction, ES and B when one is
    /// unmasked. Returns false when an unmasked invalid or divide-by-zero exception, or an unmasked denormal operand
    /// when <paramref name="denormalBlocks"/> (arithmetic; loads and compares go ahead), means the destination must not
    /// be written; the post-computation flags (P, U, O) are then not reported (SDM 1 §8.5, checked against the host).
    /// Unmasked overflow and underflow write the masked result here rather than the exponent-wrapped one (see docs/cpu.md).
    /// </summary>
    public static bool Commit(Cpu cpu, FloatExceptions raised, bool denormalBlocks = true)
    {
        var fpu = cpu.Fpu;
        if ((raised & (FloatExceptions.Invalid | FloatExceptions.DivideByZero)) != 0)
        {
            // Invalid operations and divisions by zero take precedence over a denormal operand, which the hardware
            // then does not report (SDM 1 §4.9.2 precedence; checked against the host in the tests).
            raised &= ~FloatExceptions.Denormal;
        }

        const FloatExceptions preComputation = FloatExceptions.Invalid | FloatExceptions.Denormal | FloatExceptions.DivideByZero;
        var masks = (FloatExceptions)(fpu->ControlWord & X87StatusWord.ExceptionFlags);
        var blocking = FloatExceptions.Invalid | FloatExceptions.DivideByZero | (denormalBlocks ? FloatExceptions.Denormal : 0);
        bool blocked = (raised & blocking & ~masks) != 0;
        if (blocked)
        {
            raised &= preComputation;
        }

        ushort flags = (ushort)((uint)raised & X87StatusWord.ExceptionFlags);
        ushort status = (ushort)((fpu->StatusWord & ~X87StatusWord.C1) | flags);
        if ((raised & FloatExceptions.RoundedUp) != 0 && (raised & FloatExceptions.Precision) != 0)
        {
            status |= X87StatusWord.C1;
        }

        ushort unmasked = (ushort)(flags & ~fpu->ControlWord & X87StatusWord.ExceptionFlags);
        if ((raised & FloatExceptions.TinyExact) != 0 && (fpu->ControlWord & (ushort)FloatExceptions.Underflow) == 0)
        {
            status |= (ushort)FloatExceptions.Underflow;
            unmasked |= (ushort)FloatExceptions.Underflow;
        }

        if (unmasked != 0)
        {
            status |= X87StatusWord.ErrorSummary | X87StatusWord.Busy;
        }

        fpu->StatusWord = status;
        return !blocked;
    }

    /// <summary>Sets C3, C2, C1, C0 (clearing the others).</summary>
    public static void SetConditionCodes(FpuState* fpu, bool c3, bool c2, bool c1, bool c0)
    {
        ushort status = (ushort)(fpu->StatusWord & ~X87StatusWord.ConditionCodes);
        if (c3)
        {
            status |= X87StatusWord.C3;
        }

        if (c2)
        {
            status |= X87StatusWord.C2;
        }

        if (c1)
        {
            status |= X87StatusWord.C1;
        }

        if (c0)
        {
            status |= X87StatusWord.C0;
        }

        fpu->StatusWord = status;
    }

    /// <summary>
    /// The NaN an x87 operation on NaNs returns (SDM 1 §4.8.3.5 Table 4-7): a QNaN over an SNaN, otherwise the larger
    /// significand, quieted.
    /// </summary>
    public static FloatParts PropagateNaN(in FloatParts a, in FloatParts b, ref FloatEnvironment environment)
    {
        if (a.Class == FloatClass.SignalingNaN || b.Class == FloatClass.SignalingNaN)
        {
            environment.Flags |= FloatExceptions.Invalid;
        }

        if (a.IsNaN && b.IsNaN && a.Class != b.Class)
        {
            return a.Class == FloatClass.QuietNaN ? a : b;
        }

        if (a.IsNaN && b.IsNaN)
        {
            ulong magnitudeA = a.Significand & ~(1UL << 62);
            ulong magnitudeB = b.Significand & ~(1UL << 62);
            if (magnitudeA != magnitudeB)
            {
                return (magnitudeA > magnitudeB ? a : b).Quieted();
            }

            return (a.Sign ? b : a).Quieted();
        }

        return (a.IsNaN ? a : b).Quieted();
    }

    /// <summary>The 80-bit constant value of a double (exact).</summary>
    public static FloatParts FromDouble(double value) => SoftFloat.Decode(BitConverter.DoubleToUInt64Bits(value), FloatFormat.Double, false);

    /// <summary>An 80-bit value rounded to the nearest double, for the transcendental functions computed on the host.</summary>
    public static double ToDouble(in FloatParts value)
    {
        var environment = default(FloatEnvironment);
        return BitConverter.UInt64BitsToDouble(SoftFloat.Encode(SoftFloat.Round(value, FloatFormat.Double, ref environment), FloatFormat.Double));
    }
}

using System.Runtime.CompilerServices;
using Vessel.X86.Cpu.Fpu;

namespace Vessel.X86.Cpu;

/// <summary>
/// The x87/MMX/SSE register file and the checks every FPU, MMX and SSE instruction makes before it runs:
/// CR0.EM, CR0.TS and CR4.OSFXSR (Intel SDM 3A §2.5, §13.1 and SDM 2 "Exceptions" of each instruction).
/// </summary>
public sealed unsafe partial class Cpu
{
    /// <summary>The x87, MMX and SSE registers; valid until the CPU is disposed.</summary>
    public FpuState* Fpu { get; }

    /// <summary>
    /// SSE instructions: #UD when CR0.EM is set or CR4.OSFXSR is clear, then #NM when CR0.TS is set
    /// (SDM 2 §2.4 exception types, SDM 3A Table 2-2).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool SseAvailable()
    {
        if ((cr0 & (ulong)(ControlRegister0.Emulation | ControlRegister0.TaskSwitched)) == 0 && (cr4 & (ulong)ControlRegister4.OsFxsr) != 0)
        {
            return true;
        }

        return SseUnavailable();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool SseUnavailable()
    {
        if ((cr0 & (ulong)ControlRegister0.Emulation) != 0 || (cr4 & (ulong)ControlRegister4.OsFxsr) == 0)
        {
            RaiseInvalidOpcode();
        }
        else
        {
            RaiseException(ExceptionVector.DeviceNotAvailable);
        }

        return false;
    }

    /// <summary>
    /// MMX instructions: #UD when CR0.EM is set, #NM when CR0.TS is set (SDM 3A Table 2-2), and, like waiting x87
    /// instructions, #MF while an unmasked x87 exception is pending with CR0.NE set (SDM 1 §9.5.2).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool MmxAvailable()
    {
        if ((cr0 & (ulong)(ControlRegister0.Emulation | ControlRegister0.TaskSwitched)) == 0 && (Fpu->StatusWord & X87StatusWord.ErrorSummary) == 0)
        {
            return true;
        }

        return MmxUnavailable();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool MmxUnavailable()
    {
        if ((cr0 & (ulong)(ControlRegister0.Emulation | ControlRegister0.TaskSwitched)) != 0)
        {
            RaiseException((cr0 & (ulong)ControlRegister0.Emulation) != 0 ? ExceptionVector.InvalidOpcode : ExceptionVector.DeviceNotAvailable);
            return false;
        }

        if ((cr0 & (ulong)ControlRegister0.NumericError) != 0)
        {
            RaiseException(ExceptionVector.FloatingPointError);
            return false;
        }

        return true;
    }

    /// <summary>x87 instructions: #NM when CR0.EM or CR0.TS is set (SDM 3A Table 2-2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool X87Available()
    {
        if ((cr0 & (ulong)(ControlRegister0.Emulation | ControlRegister0.TaskSwitched)) == 0)
        {
            return true;
        }

        RaiseException(ExceptionVector.DeviceNotAvailable);
        return false;
    }

    /// <summary>
    /// Reports SIMD floating-point exceptions: sets the MXCSR flags of the masked ones; if any is unmasked, raises #XM
    /// (CR4.OSXMMEXCPT set) or #UD and returns false, and the instruction must leave its destination alone
    /// (SDM 1 §11.5.1, SDM 3A §6.15 "Interrupt 19").
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool CommitSimdExceptions(FloatExceptions raised)
    {
        uint flags = (uint)raised & MxcsrBits.ExceptionFlags;
        if (flags == 0 && (raised & FloatExceptions.TinyExact) == 0)
        {
            return true;
        }

        return CommitSimdExceptionsSlow(raised);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool CommitSimdExceptionsSlow(FloatExceptions raised)
    {
        uint mxcsr = Fpu->Mxcsr;
        uint masks = (mxcsr >> MxcsrBits.MaskShift) & 0x3F;
        uint flags = (uint)raised & MxcsrBits.ExceptionFlags;
        if ((raised & FloatExceptions.TinyExact) != 0 && (masks & MxcsrBits.Underflow) == 0)
        {
            flags |= MxcsrBits.Underflow;
        }

        uint unmasked = flags & ~masks;
        if (unmasked == 0)
        {
            Fpu->Mxcsr = mxcsr | flags;
            return true;
        }

        // SDM 1 §11.5.2: with an unmasked exception the result is not written; pre-computation conditions (invalid,
        // denormal, divide-by-zero) are reported without the post-computation ones.
        uint reported = (unmasked & (MxcsrBits.InvalidOperation | MxcsrBits.Denormal | MxcsrBits.DivideByZero)) != 0
            ? flags & (MxcsrBits.InvalidOperation | MxcsrBits.Denormal | MxcsrBits.DivideByZero)
            : flags;
        Fpu->Mxcsr = mxcsr | reported;
        if ((cr4 & (ulong)ControlRegister4.OsXmmExceptions) != 0)
        {
            RaiseException(ExceptionVector.SimdFloatingPoint);
        }
        else
        {
            RaiseInvalidOpcode();
        }

        return false;
    }
}

namespace Vessel.X86.Cpu.Fpu;

/// <summary>MXCSR fields (Intel SDM 1 §10.2.3, Figure 10-3).</summary>
public static class MxcsrBits
{
    public const uint InvalidOperation = 1 << 0;
    public const uint Denormal = 1 << 1;
    public const uint DivideByZero = 1 << 2;
    public const uint Overflow = 1 << 3;
    public const uint Underflow = 1 << 4;
    public const uint Precision = 1 << 5;
    public const uint DenormalsAreZero = 1 << 6;
    public const uint ExceptionFlags = 0x3F;
    public const int MaskShift = 7;
    public const uint ExceptionMasks = 0x3F << MaskShift;
    public const int RoundingShift = 13;
    public const uint RoundingControl = 3 << RoundingShift;
    public const uint FlushToZero = 1 << 15;

    /// <summary>MXCSR after reset: all exceptions masked, round to nearest.</summary>
    public const uint ResetValue = 0x1F80;

    /// <summary>MXCSR_MASK as FXSAVE reports it: every defined bit including DAZ is writable (SDM 1 §11.6.6).</summary>
    public const uint WritableMask = 0xFFFF;
}

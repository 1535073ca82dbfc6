namespace Vessel.X86.Cpu.Fpu;

/// <summary>The controls an operation rounds under, and the exception conditions it raised (sticky, ORed in).</summary>
public struct FloatEnvironment
{
    public RoundingMode Rounding;

    /// <summary>MXCSR.FTZ with underflow masked: tiny results become signed zero (Intel SDM 1 §10.2.3.3).</summary>
    public bool FlushToZero;

    /// <summary>MXCSR.DAZ: denormal inputs read as signed zero (SDM 1 §10.2.3.4).</summary>
    public bool DenormalsAreZero;

    public FloatExceptions Flags;

    public static FloatEnvironment FromMxcsr(uint mxcsr) => new()
    {
        Rounding = (RoundingMode)((mxcsr >> MxcsrBits.RoundingShift) & 3),
        FlushToZero = (mxcsr & MxcsrBits.FlushToZero) != 0 && (mxcsr & (MxcsrBits.Underflow << MxcsrBits.MaskShift)) != 0,
        DenormalsAreZero = (mxcsr & MxcsrBits.DenormalsAreZero) != 0,
    };
}

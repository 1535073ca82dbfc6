namespace Vessel.X86.Cpu.Fpu;

/// <summary>
/// Floating-point exception conditions, in the bit positions MXCSR and the x87 status word share
/// (Intel SDM 1 §4.9.1 and §8.1.3.1), plus <see cref="TinyExact"/>, which only matters when underflow is unmasked, and <see cref="RoundedUp"/> for the x87's C1.
/// </summary>
[Flags]
public enum FloatExceptions : uint
{
    None = 0,
    Invalid = 1 << 0,
    Denormal = 1 << 1,
    DivideByZero = 1 << 2,
    Overflow = 1 << 3,
    Underflow = 1 << 4,
    Precision = 1 << 5,

    /// <summary>A tiny result that was exact: #U when underflow is unmasked, nothing when it is masked (SDM 1 §4.9.1.5).</summary>
    TinyExact = 1 << 6,

    /// <summary>The last rounding increased the magnitude: the x87 reports it in C1 (SDM 1 §8.1.3.1).</summary>
    RoundedUp = 1 << 7,

    Architectural = 0x3F,
}

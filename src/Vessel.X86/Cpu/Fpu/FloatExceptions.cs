namespace Vessel.X86.Cpu.Fpu;

/// <summary>
/// Floating-point exception conditions, in the bit positions MXCSR and the x87 status word share
/// (Intel SDM 1 §4.9.1 and §8.1.3.1), plus <see cref="TinyExact"/>, which only matters when underflow is unmasked.
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

    Architectural = 0x3F,
}

namespace Vessel.X86.Cpu.Fpu;

/// <summary>The RC field of MXCSR and FCW (Intel SDM 1 §4.8.4, Table 4-8).</summary>
public enum RoundingMode
{
    NearestEven = 0,
    Down = 1,
    Up = 2,
    TowardZero = 3,
}

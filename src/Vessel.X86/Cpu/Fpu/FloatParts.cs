namespace Vessel.X86.Cpu.Fpu;

/// <summary>
/// A float unpacked for arithmetic. For finite values the significand is normalized (bit 63 set) and the value is
/// 1.f × 2^<see cref="Exponent"/>, so denormals of the source format simply have an exponent below its minimum.
/// For NaNs the significand holds the fraction left-aligned below bit 63 (bit 62 is the quiet bit), which is how x86
/// carries a payload between formats (Intel SDM 1 §4.8.3.7).
/// </summary>
public struct FloatParts
{
    public ulong Significand;
    public int Exponent;
    public bool Sign;
    public FloatClass Class;

    /// <summary>The encoding was a denormal (and DAZ did not turn it into zero): the DE condition.</summary>
    public bool Denormal;

    public readonly bool IsNaN => Class is FloatClass.QuietNaN or FloatClass.SignalingNaN;

    public static FloatParts Zero(bool sign) => new() { Class = FloatClass.Zero, Sign = sign };

    public static FloatParts Infinity(bool sign) => new() { Class = FloatClass.Infinity, Sign = sign, Significand = 1UL << 63 };

    /// <summary>The QNaN floating-point indefinite: negative, quiet bit only (SDM 1 §4.8.3.7, Table 4-3).</summary>
    public static FloatParts Indefinite => new() { Class = FloatClass.QuietNaN, Sign = true, Significand = 0xC000_0000_0000_0000 };

    /// <summary>The same NaN with its quiet bit set.</summary>
    public readonly FloatParts Quieted() => this with { Class = FloatClass.QuietNaN, Significand = Significand | (1UL << 62) | (1UL << 63) };
}

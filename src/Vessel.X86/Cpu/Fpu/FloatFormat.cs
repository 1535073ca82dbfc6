namespace Vessel.X86.Cpu.Fpu;

/// <summary>An IEEE 754 binary format as x86 stores it (Intel SDM 1 §4.2.2, Table 4-3): field widths and exponent range.</summary>
public readonly struct FloatFormat
{
    public FloatFormat(int fractionBits, int exponentBits, int precision)
    {
        FractionBits = fractionBits;
        ExponentBits = exponentBits;
        Precision = precision;
        Bias = (1 << (exponentBits - 1)) - 1;
        MinimumExponent = 1 - Bias;
        MaximumExponent = Bias;
    }

    /// <summary>Stored fraction bits (the 80-bit format's explicit integer bit not counted).</summary>
    public int FractionBits { get; }

    public int ExponentBits { get; }

    /// <summary>Significand bits results are rounded to (24, 53 or 64; the x87 precision control can lower it).</summary>
    public int Precision { get; }

    public int Bias { get; }

    public int MinimumExponent { get; }

    public int MaximumExponent { get; }

    public static FloatFormat Single { get; } = new(23, 8, 24);

    public static FloatFormat Double { get; } = new(52, 11, 53);

    public static FloatFormat Extended { get; } = new(63, 15, 64);

    /// <summary>The 80-bit exponent range with the precision the x87 PC field selects (SDM 1 §8.1.5.2).</summary>
    public static FloatFormat ExtendedWithPrecision(int precision) => new(63, 15, precision);
}

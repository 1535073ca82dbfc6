namespace Vessel.X86.Cpu.Fpu;

/// <summary>FCW fields (Intel SDM 1 §8.1.5, Figure 8-6).</summary>
public static class X87ControlWord
{
    public const ushort ExceptionMasks = 0x3F;
    public const int PrecisionShift = 8;
    public const int RoundingShift = 10;

    /// <summary>The bits FLDCW keeps; bit 12 (infinity control) is accepted and ignored, as on every processor since the 387.</summary>
    public const ushort Writable = 0x1F7F;

    /// <summary>Significand bits for the PC field: 00 single, 01 reserved (treated as 64 here), 10 double, 11 extended.</summary>
    public static int Precision(ushort controlWord) => ((controlWord >> PrecisionShift) & 3) switch
    {
        0 => 24,
        2 => 53,
        _ => 64,
    };
}

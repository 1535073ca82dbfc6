namespace Vessel.X86.Cpu.Fpu;

/// <summary>What kind of value an unpacked float holds (Intel SDM 1 §4.8.3, Table 4-3).</summary>
public enum FloatClass : byte
{
    Zero,
    Finite,
    Infinity,
    QuietNaN,
    SignalingNaN,

    /// <summary>An 80-bit encoding the x87 no longer supports (pseudo-NaN, pseudo-infinity, unnormal): an invalid operand (SDM 1 §8.2.2).</summary>
    Unsupported,
}

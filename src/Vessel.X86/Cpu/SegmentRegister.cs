namespace Vessel.X86.Cpu;

/// <summary>Segment registers in their encoding order (Intel SDM 2, Table 3-6 "Sreg").</summary>
public enum SegmentRegister
{
    ES = 0,
    CS = 1,
    SS = 2,
    DS = 3,
    FS = 4,
    GS = 5,
}

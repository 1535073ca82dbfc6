namespace Vessel.X86.Cpu.Paging;

/// <summary>#PF error code bits (Intel SDM 3A §4.7).</summary>
[Flags]
public enum PageFaultErrorCode : uint
{
    None = 0,
    Present = 1 << 0,
    Write = 1 << 1,
    User = 1 << 2,
    ReservedBit = 1 << 3,
    InstructionFetch = 1 << 4,
}

namespace Vessel.X86.Cpu;

/// <summary>CPUID.01H:EDX feature bits (SDM 2, Table 3-11).</summary>
[Flags]
public enum CpuidFeatures1Edx : uint
{
    None = 0,
    FloatingPointUnit = 1u << 0,
    PageSizeExtension = 1u << 3,
    TimeStampCounter = 1u << 4,
    ModelSpecificRegisters = 1u << 5,
    PhysicalAddressExtension = 1u << 6,
    Cmpxchg8b = 1u << 8,
    LocalApic = 1u << 9,
    Sysenter = 1u << 11,
    MemoryTypeRangeRegisters = 1u << 12,
    PageGlobalEnable = 1u << 13,
    ConditionalMove = 1u << 15,
    PageAttributeTable = 1u << 16,
    ClflushInstruction = 1u << 19,
    Mmx = 1u << 23,
    Fxsr = 1u << 24,
    Sse = 1u << 25,
    Sse2 = 1u << 26,
}

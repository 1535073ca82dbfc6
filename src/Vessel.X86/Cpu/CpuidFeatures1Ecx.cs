namespace Vessel.X86.Cpu;

/// <summary>CPUID.01H:ECX feature bits (SDM 2, Table 3-10).</summary>
[Flags]
public enum CpuidFeatures1Ecx : uint
{
    None = 0,
    Sse3 = 1u << 0,
    Ssse3 = 1u << 9,
    Cmpxchg16b = 1u << 13,
    Sse41 = 1u << 19,
    Sse42 = 1u << 20,
    X2Apic = 1u << 21,
    Popcnt = 1u << 23,
    TscDeadline = 1u << 24,
    Hypervisor = 1u << 31,
}

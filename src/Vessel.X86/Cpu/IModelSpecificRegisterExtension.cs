namespace Vessel.X86.Cpu;

/// <summary>
/// MSRs that belong to a unit beside the core, consulted by RDMSR/WRMSR before the CPU's own MSR table: the local APIC
/// owns IA32_APIC_BASE (0x1B), IA32_TSC_DEADLINE (0x6E0) and the x2APIC range (0x800-0x8FF).
/// Called on the vCPU's own thread.
/// </summary>
public interface IModelSpecificRegisterExtension
{
    ModelSpecificRegisterAccess ReadMsr(uint index, out ulong value);

    ModelSpecificRegisterAccess WriteMsr(uint index, ulong value);
}

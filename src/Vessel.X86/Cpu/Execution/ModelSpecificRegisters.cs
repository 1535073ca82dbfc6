using Iced.Intel;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Execution;

/// <summary>
/// RDMSR and WRMSR (Intel SDM 2): ECX names the MSR, EDX:EAX holds the value; CPL 0 only, unknown MSRs #GP(0).
/// RDPMC reads a performance counter the same way.
/// </summary>
public static unsafe class ModelSpecificRegisters
{
    public static void Register(HandlerTable table)
    {
        table.Add(Code.Rdmsr, &ReadMsr);
        table.Add(Code.Wrmsr, &WriteMsr);
        table.Add(Code.Rdpmc, &ReadPerformanceCounter);
    }

    /// <summary>
    /// RDPMC (SDM 2): #GP(0) outside CPL 0 unless CR4.PCE, and for a counter the CPU does not have. Intel models advertise
    /// no architectural PMU (CPUID.0AH is zero), so every index is invalid; AMD models read their legacy PerfCtr0-3.
    /// </summary>
    private static void ReadPerformanceCounter(Cpu cpu, DecodedInstruction* instruction)
    {
        var s = cpu.State;
        bool userMayRead = (cpu.Cr4 & (ulong)ControlRegister4.PerformanceCounterEnable) != 0;
        if (cpu.ProtectedMode && cpu.CurrentPrivilegeLevel > 0 && !userMayRead)
        {
            cpu.RaiseGeneralProtection(0);
            return;
        }

        if (!cpu.TryReadPerformanceCounter((uint)s->Gpr[1], out ulong value))
        {
            cpu.RaiseGeneralProtection(0);
            return;
        }

        s->Gpr[0] = (uint)value;
        s->Gpr[2] = value >> 32;
    }

    private static void ReadMsr(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!ControlRegisters.RequireSupervisor(cpu))
        {
            return;
        }

        var s = cpu.State;
        if (!cpu.TryReadMsr((uint)s->Gpr[1], out ulong value))
        {
            cpu.RaiseGeneralProtection(0);
            return;
        }

        s->Gpr[0] = (uint)value;
        s->Gpr[2] = value >> 32;
    }

    private static void WriteMsr(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!ControlRegisters.RequireSupervisor(cpu))
        {
            return;
        }

        var s = cpu.State;
        ulong value = (s->Gpr[2] << 32) | (uint)s->Gpr[0];
        if (!cpu.TryWriteMsr((uint)s->Gpr[1], value))
        {
            cpu.RaiseGeneralProtection(0);
            return;
        }

        // EFER and the segment bases change how the rest of the block would run.
        cpu.StopBlock();
    }
}

using Iced.Intel;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Execution;

/// <summary>RDMSR and WRMSR (Intel SDM 2): ECX names the MSR, EDX:EAX holds the value; CPL 0 only, unknown MSRs #GP(0).</summary>
public static unsafe class ModelSpecificRegisters
{
    public static void Register(HandlerTable table)
    {
        table.Add(Code.Rdmsr, &ReadMsr);
        table.Add(Code.Wrmsr, &WriteMsr);
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

using Vessel.Core.Accel;
using Vessel.X86.Apic;

namespace Vessel.X86;

/// <summary>The accelerator-contract face of one software <see cref="Cpu.Cpu"/> and its local APIC.</summary>
public sealed class SoftwareVcpu(int index, Cpu.Cpu cpu, LocalApic apic) : IVcpu
{
    public int Index { get; } = index;

    public Cpu.Cpu Cpu { get; } = cpu;

    public LocalApic LocalApic { get; } = apic;

    /// <summary>Loads the registers (an AP with WaitForStartup parks in wait-for-SIPI) and wires LINT0/LINT1 as KvmVcpu does.</summary>
    public void SetBootState(VcpuBootState state)
    {
        Cpu.LoadBootState(state);
        LocalApic.ProgramVirtualWire();
    }

    public VcpuExit Run() => Cpu.Run();

    public void RequestExit() => Cpu.RequestExit();

    public void Dispose()
    {
        LocalApic.Dispose();
        Cpu.Dispose();
    }
}

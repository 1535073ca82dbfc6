using Vessel.Core.Accel;
using Vessel.Core.Accel.State;
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

    public VcpuState GetState()
    {
        var state = Cpu.GetState();
        state.LocalApic = LocalApic.GetState();
        return state;
    }

    /// <summary>Why this vCPU cannot take <paramref name="state"/>, or null when it can.</summary>
    public string? CheckState(VcpuState state) => Cpu.CheckState(state) ?? LocalApic.CheckState(state.LocalApic);

    /// <exception cref="ArgumentException">The state needs something this CPU does not offer (<see cref="CheckState"/>).</exception>
    public void SetState(VcpuState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (CheckState(state) is { } problem)
        {
            throw new ArgumentException($"vCPU {Index} cannot take this state: {problem}.", nameof(state));
        }

        Cpu.SetState(state);
        LocalApic.SetState(state.LocalApic);
    }

    public void Dispose()
    {
        LocalApic.Dispose();
        Cpu.Dispose();
    }
}

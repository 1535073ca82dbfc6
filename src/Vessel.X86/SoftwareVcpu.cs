using Vessel.Core.Accel;

namespace Vessel.X86;

/// <summary>The accelerator-contract face of one software <see cref="Cpu.Cpu"/>.</summary>
public sealed class SoftwareVcpu(int index, Cpu.Cpu cpu) : IVcpu
{
    public int Index { get; } = index;

    public Cpu.Cpu Cpu { get; } = cpu;

    public void SetBootState(VcpuBootState state) => Cpu.LoadBootState(state);

    public VcpuExit Run() => Cpu.Run();

    public void RequestExit() => Cpu.RequestExit();

    public void Dispose() => Cpu.Dispose();
}

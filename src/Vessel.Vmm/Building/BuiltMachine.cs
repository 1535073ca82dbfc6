using Vessel.Boot;
using Vessel.Devices.Serial;
using Vessel.Vmm.Running;

namespace Vessel.Vmm.Building;

/// <summary>A machine ready to run, with the handles its host side needs: the console UART for input and what was loaded.</summary>
public sealed record BuiltMachine(Machine Machine, Uart16550 Console, LoadedKernel Kernel) : IDisposable
{
    public void Dispose() => Machine.Dispose();
}

using Vessel.Boot;
using Vessel.Devices.Keyboard;
using Vessel.Devices.Serial;
using Vessel.Vmm.Running;

namespace Vessel.Vmm.Building;

/// <summary>
/// A machine ready to run, with the handles its host side needs: the console UART for input, the i8042 for
/// Ctrl-Alt-Del, and what was loaded.
/// </summary>
public sealed record BuiltMachine(Machine Machine, Uart16550 Console, I8042Controller Keyboard, LoadedKernel Kernel) : IDisposable
{
    public void Dispose() => Machine.Dispose();
}

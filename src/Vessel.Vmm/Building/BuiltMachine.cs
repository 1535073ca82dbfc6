using Vessel.Boot;
using Vessel.Devices.Keyboard;
using Vessel.Devices.Serial;
using Vessel.Devices.Virtio.Console;
using Vessel.Vmm.Configuration;
using Vessel.Vmm.Running;

namespace Vessel.Vmm.Building;

/// <summary>
/// A machine ready to run, with the handles its host side needs: the console UART for input, the i8042 for
/// Ctrl-Alt-Del, and what was loaded.
/// </summary>
public sealed record BuiltMachine(Machine Machine, Uart16550 Console, I8042Controller Keyboard, LoadedKernel? Kernel) : IDisposable
{
    /// <summary>The machine's device list and I/O thread.</summary>
    public DeviceManager? Devices { get; init; }

    /// <summary>The configuration the machine was built from, accelerator and CPU model included; a snapshot records it.</summary>
    public MachineConfig? Config { get; init; }

    /// <summary>The virtio console (hvc0), for host input when the guest's console is hvc0.</summary>
    public VirtioConsoleDevice? VirtioConsole { get; init; }

    /// <summary>The guest's /dev/console is hvc0 (its last <c>console=</c> says so): host keystrokes go to the virtio console.</summary>
    public bool ConsoleIsVirtio { get; init; }

    public void Dispose() => Machine.Dispose();
}

namespace Vessel.Core.Interrupts;

/// <summary>How a device ends or restarts the machine (ACPI power-off, i8042 reset, the debug-exit port).</summary>
public interface ISystemControl
{
    void RequestStop(MachineStop stop);
}

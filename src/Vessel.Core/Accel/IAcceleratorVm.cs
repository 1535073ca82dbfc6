using Vessel.Core.Interrupts;

namespace Vessel.Core.Accel;

/// <summary>
/// A VM inside one accelerator: owns the vCPUs and the interrupt controllers the accelerator emulates
/// (KVM's in-kernel irqchip, or our own LAPIC/IOAPIC/PIC), so it is also where device interrupts go.
/// </summary>
public interface IAcceleratorVm : IMsiSink, IDisposable
{
    IVcpu CreateVcpu(int index, IVcpuIo io);

    /// <summary>Sets the level of a global system interrupt (GSI) line: IOAPIC pin, and the PIC pin for GSIs below 16.</summary>
    void SetIrqLine(int gsi, bool asserted);
}

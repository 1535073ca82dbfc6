using Vessel.Core.Accel;
using Vessel.Core.Interrupts;

namespace Vessel.Vmm.Running;

/// <summary>Turns device interrupt lines (GSIs) and MSIs into calls on the accelerator's VM, whichever accelerator it is.</summary>
public sealed class InterruptRouter(IAcceleratorVm vm) : IMsiSink
{
    public IInterruptLine Line(int gsi) => new GsiLine(vm, gsi);

    public void SendMsi(ulong address, uint data) => vm.SendMsi(address, data);

    private sealed class GsiLine(IAcceleratorVm vm, int gsi) : IInterruptLine
    {
        private int level = -1;

        public void SetLevel(bool asserted)
        {
            // Only changes cross to the accelerator: an ioctl under KVM, controller work under the software CPU.
            int value = asserted ? 1 : 0;
            if (Interlocked.Exchange(ref level, value) != value)
            {
                vm.SetIrqLine(gsi, asserted);
            }
        }
    }
}

using Vessel.Core.Accel;
using Vessel.Core.Logging;
using Vessel.Core.Memory;

namespace Vessel.Vmm.Tests.Building;

/// <summary>An accelerator whose VM records interrupts and whose vCPUs never run: enough to assemble a machine and inspect it.</summary>
public sealed class FakeAccelerator : IAccelerator
{
    public string Name => "fake";

    public FakeVm? Vm { get; private set; }

    public bool IsAvailable(out string reason)
    {
        reason = string.Empty;
        return true;
    }

    public IAcceleratorVm CreateVm(GuestMemory memory, AcceleratorVmOptions options, IMachineLog log) => Vm = new FakeVm();

    public sealed class FakeVm : IAcceleratorVm
    {
        public List<(int Gsi, bool Asserted)> IrqLines { get; } = [];

        public List<(ulong Address, uint Data)> Messages { get; } = [];

        public IVcpu CreateVcpu(int index, IVcpuIo io) => new FakeVcpu(index);

        public void SetIrqLine(int gsi, bool asserted)
        {
            lock (IrqLines)
            {
                IrqLines.Add((gsi, asserted));
            }
        }

        public void SendMsi(ulong address, uint data)
        {
            lock (Messages)
            {
                Messages.Add((address, data));
            }
        }

        public void Dispose()
        {
        }
    }

    private sealed class FakeVcpu(int index) : IVcpu
    {
        public int Index { get; } = index;

        public void SetBootState(VcpuBootState state)
        {
        }

        public VcpuExit Run() => throw new NotSupportedException("the fake accelerator's vCPUs do not run");

        public void RequestExit()
        {
        }

        public void Dispose()
        {
        }
    }
}

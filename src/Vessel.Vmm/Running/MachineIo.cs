using Vessel.Core.Accel;
using Vessel.Core.Bus;

namespace Vessel.Vmm.Running;

/// <summary>The machine's I/O as every vCPU sees it: port and MMIO accesses go straight to the buses on the vCPU's thread.</summary>
public sealed class MachineIo(IoPortBus ports, MmioBus mmio) : IVcpuIo
{
    public void PortRead(ushort port, Span<byte> data) => ports.Read(port, data);

    public void PortWrite(ushort port, ReadOnlySpan<byte> data) => ports.Write(port, data);

    public void MmioRead(ulong address, Span<byte> data) => mmio.Read(address, data);

    public void MmioWrite(ulong address, ReadOnlySpan<byte> data) => mmio.Write(address, data);
}

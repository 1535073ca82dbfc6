using Vessel.Core.Accel;
using Vessel.Core.Bus;

namespace Vessel.Vmm.Running;

/// <summary>
/// The machine's I/O as every vCPU sees it: port and MMIO accesses go straight to the buses on the vCPU's thread, each
/// counted in <see cref="MachineMetrics"/> (one interlocked add, no allocation).
/// </summary>
public sealed class MachineIo(IoPortBus ports, MmioBus mmio, MachineMetrics metrics) : IVcpuIo
{
    public void PortRead(ushort port, Span<byte> data)
    {
        Interlocked.Increment(ref metrics.PortReads);
        ports.Read(port, data);
    }

    public void PortWrite(ushort port, ReadOnlySpan<byte> data)
    {
        Interlocked.Increment(ref metrics.PortWrites);
        ports.Write(port, data);
    }

    public void MmioRead(ulong address, Span<byte> data)
    {
        Interlocked.Increment(ref metrics.MmioReads);
        mmio.Read(address, data);
    }

    public void MmioWrite(ulong address, ReadOnlySpan<byte> data)
    {
        Interlocked.Increment(ref metrics.MmioWrites);
        mmio.Write(address, data);
    }
}

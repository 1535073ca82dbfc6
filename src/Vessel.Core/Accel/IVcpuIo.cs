namespace Vessel.Core.Accel;

/// <summary>
/// The machine's I/O callbacks, called by a vCPU on its own thread in the middle of the instruction that needs them
/// (software CPU) or for each I/O or MMIO exit (KVM). Never returns control to the machine's run loop.
/// </summary>
public interface IVcpuIo
{
    void PortRead(ushort port, Span<byte> data);

    void PortWrite(ushort port, ReadOnlySpan<byte> data);

    void MmioRead(ulong address, Span<byte> data);

    void MmioWrite(ulong address, ReadOnlySpan<byte> data);
}

using Vessel.Core.Bus;

namespace Vessel.Devices.Debug;

/// <summary>
/// Port 0x80, where firmware writes POST progress codes and Linux writes to delay I/O (outb_p, io_delay). Writes are
/// accepted and ignored; reads return all ones, as QEMU's ioport80_read in hw/i386/pc.c does.
/// </summary>
public sealed class PostCodePort : IBusDevice
{
    public const ushort ConventionalPort = 0x80;

    public void Read(ulong offset, Span<byte> data) => data.Fill(byte.MaxValue);

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
    }
}

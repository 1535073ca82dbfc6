using Vessel.Core.Bus;

namespace Vessel.Devices.Keyboard;

/// <summary>
/// One of the i8042's two ports as the I/O bus sees it. The controller answers at 0x60 and 0x64 while 0x61 belongs to
/// the PIT's speaker gate, so each port is registered on its own. Bytes of a wider access past the first read as all
/// ones and are not written, as they would reach other ports on an ISA bus.
/// </summary>
internal sealed class I8042PortDevice(I8042Controller controller, bool isCommandPort) : IBusDevice
{
    public void Read(ulong offset, Span<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        data.Fill(byte.MaxValue);
        if (offset == 0)
        {
            data[0] = isCommandPort ? controller.ReadStatus() : controller.ReadData();
        }
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty || offset != 0)
        {
            return;
        }

        if (isCommandPort)
        {
            controller.WriteCommand(data[0]);
        }
        else
        {
            controller.WriteData(data[0]);
        }
    }
}

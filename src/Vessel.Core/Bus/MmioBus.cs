using Vessel.Core.Logging;

namespace Vessel.Core.Bus;

/// <summary>Guest-physical addresses that are not RAM and belong to device registers.</summary>
public sealed class MmioBus(IMachineLog log) : AddressBus("MMIO", log)
{
    public void Read(ulong address, Span<byte> data)
    {
        if (TryFind(address, out var range))
        {
            range.Device.Read(address - range.Start, data);
        }
        else
        {
            ReadUnclaimed(address, data);
        }
    }

    public void Write(ulong address, ReadOnlySpan<byte> data)
    {
        if (TryFind(address, out var range))
        {
            range.Device.Write(address - range.Start, data);
        }
        else
        {
            ReportUnclaimed(address, data.Length, "write");
        }
    }
}

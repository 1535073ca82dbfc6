using System.Runtime.CompilerServices;
using Vessel.Core.Logging;

namespace Vessel.Core.Bus;

/// <summary>The x86 I/O port space (0-0xFFFF). A 64 Ki-entry table makes each port lookup one array index.</summary>
public sealed class IoPortBus(IMachineLog log) : AddressBus("port I/O", log)
{
    public const int PortCount = 0x10000;

    private BusRange?[] byPort = new BusRange?[PortCount];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Read(ushort port, Span<byte> data)
    {
        var range = byPort[port];
        if (range is { } claimed)
        {
            claimed.Device.Read((ulong)(port - claimed.Start), data);
        }
        else
        {
            ReadUnclaimed(port, data);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Write(ushort port, ReadOnlySpan<byte> data)
    {
        var range = byPort[port];
        if (range is { } claimed)
        {
            claimed.Device.Write((ulong)(port - claimed.Start), data);
        }
        else
        {
            ReportUnclaimed(port, data.Length, "write");
        }
    }

    protected override void OnRangesChanged(BusRange[] sorted)
    {
        var table = new BusRange?[PortCount];
        foreach (var range in sorted)
        {
            if (range.End > PortCount)
            {
                throw new BusConflictException($"port I/O: {range.Name} at 0x{range.Start:x}+0x{range.Length:x} runs past port 0xFFFF.");
            }

            for (ulong port = range.Start; port < range.End; port++)
            {
                table[port] = range;
            }
        }

        Volatile.Write(ref byPort, table);
    }
}

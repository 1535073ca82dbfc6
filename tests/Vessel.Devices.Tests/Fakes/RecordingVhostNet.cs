using Vessel.Core.Accel;
using Vessel.Core.Memory;

namespace Vessel.Devices.Tests.Fakes;

/// <summary>A /dev/vhost-net that records each ioctl as one line of text and keeps each ring's available index.</summary>
internal sealed class RecordingVhostNet(ulong features) : IVhostNet
{
    private readonly Dictionary<int, ushort> bases = [];

    public List<string> Calls { get; } = [];

    /// <summary>Set to make VHOST_NET_SET_BACKEND fail on this queue (the kernel refusing the TAP device).</summary>
    public int? RefuseBackendOn { get; set; }

    public bool Disposed { get; private set; }

    /// <summary>Moves a ring's index on as the kernel would while it serves the queue.</summary>
    public void Advance(int queue, ushort by) => bases[queue] = (ushort)(bases[queue] + by);

    public void SetOwner() => Calls.Add("owner");

    public ulong GetFeatures()
    {
        Calls.Add("get-features");
        return features;
    }

    public void SetFeatures(ulong value) => Calls.Add($"features 0x{value:x}");

    public void SetMemoryTable(IReadOnlyList<MemoryRegion> regions) =>
        Calls.Add("memory " + string.Join(" ", regions.Select(r => $"0x{r.Start.Value:x}+0x{r.Size:x}@0x{(ulong)r.HostAddress:x}")));

    public void SetVringNumber(int queue, ushort size) => Calls.Add($"num {queue} {size}");

    public void SetVringAddress(int queue, nint descriptorTable, nint usedRing, nint availableRing) =>
        Calls.Add($"addr {queue} desc 0x{(ulong)descriptorTable:x} used 0x{(ulong)usedRing:x} avail 0x{(ulong)availableRing:x}");

    public void SetVringBase(int queue, ushort nextAvailable)
    {
        bases[queue] = nextAvailable;
        Calls.Add($"base {queue} {nextAvailable}");
    }

    public ushort GetVringBase(int queue)
    {
        Calls.Add($"get-base {queue}");
        return bases[queue];
    }

    public void SetVringKick(int queue, int eventFd) => Calls.Add($"kick {queue} {eventFd}");

    public void SetVringCall(int queue, int eventFd) => Calls.Add($"call {queue} {eventFd}");

    public void SetBackend(int queue, int tapDescriptor)
    {
        if (tapDescriptor >= 0 && queue == RefuseBackendOn)
        {
            throw new IOException("VHOST_NET_SET_BACKEND failed (errno 9).");
        }

        Calls.Add($"backend {queue} {tapDescriptor}");
    }

    public void Dispose() => Disposed = true;
}

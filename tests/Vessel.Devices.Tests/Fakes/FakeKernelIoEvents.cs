using Vessel.Core.Accel;
using Vessel.Core.Memory;

namespace Vessel.Devices.Tests.Fakes;

/// <summary>An accelerator's in-kernel doorbells and MSI routes, recorded instead of handed to a kernel.</summary>
public sealed class FakeKernelIoEvents : IKernelIoEvents
{
    private int nextDescriptor = 1000;
    private int nextGsi = 24;

    public List<FakeKernelIoEvent> Events { get; } = [];

    public List<FakeMsiRoute> Routes { get; } = [];

    /// <summary>How many routes CreateMsiRoute hands out before it answers null (no GSI left).</summary>
    public int RouteLimit { get; set; } = int.MaxValue;

    /// <summary>Whether SetMessage refuses every message, as KVM_SET_GSI_ROUTING would an invalid one.</summary>
    public bool RefuseMessages { get; set; }

    public IEnumerable<FakeKernelIoEvent> Registered => Events.Where(e => !e.Disposed);

    public bool IsAvailable(out string reason)
    {
        reason = string.Empty;
        return true;
    }

    public IKernelIoEvent RegisterMmioWrite(GuestAddress address, int length)
    {
        var kernelEvent = new FakeKernelIoEvent(address, length, nextDescriptor++);
        Events.Add(kernelEvent);
        return kernelEvent;
    }

    public IKernelMsiRoute? CreateMsiRoute()
    {
        if (Routes.Count >= RouteLimit)
        {
            return null;
        }

        var route = new FakeMsiRoute(nextGsi++, this);
        Routes.Add(route);
        return route;
    }
}

public sealed class FakeKernelIoEvent(GuestAddress address, int length, int descriptor) : IKernelIoEvent
{
    public GuestAddress Address { get; } = address;

    public int Length { get; } = length;

    public int Descriptor { get; } = descriptor;

    public ulong Count { get; set; }

    public bool Disposed { get; private set; }

    public ulong Drain()
    {
        ulong count = Count;
        Count = 0;
        return count;
    }

    public void Signal() => Count++;

    public void Dispose() => Disposed = true;
}

public sealed class FakeMsiRoute(int gsi, FakeKernelIoEvents owner) : IKernelMsiRoute
{
    public int Gsi { get; } = gsi;

    /// <summary>A made-up descriptor, 5000 + the GSI (doorbells count from 1000), so tests can tell which route a component was given.</summary>
    public int Descriptor => 5000 + Gsi;

    public (ulong Address, uint Data)? Message { get; private set; }

    /// <summary>The message the route carried at each signal.</summary>
    public List<(ulong Address, uint Data)?> Signals { get; } = [];

    public int MessageUpdates { get; private set; }

    public bool Disposed { get; private set; }

    public bool SetMessage(ulong address, uint data)
    {
        MessageUpdates++;
        if (owner.RefuseMessages)
        {
            Message = null;
            return false;
        }

        Message = (address, data);
        return true;
    }

    public void Signal() => Signals.Add(Message);

    public void Dispose() => Disposed = true;
}

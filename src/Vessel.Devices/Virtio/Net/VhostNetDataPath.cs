using Vessel.Core.Accel;
using Vessel.Core.Memory;

namespace Vessel.Devices.Virtio.Net;

/// <summary>
/// Hands a virtio-net device's receive and transmit queues to the kernel's vhost-net and takes them back. <see cref="Start"/>
/// runs when the driver sets DRIVER_OK: owner (once), features, the guest memory table, then per queue its size, ring
/// addresses, start index, kick and call eventfds, and last the TAP device as backend. <see cref="Stop"/> runs on reset,
/// pause or teardown: the backend detached from each queue (the kernel stops touching the rings) and each queue's available
/// index read back, so the device model, a snapshot or a later start continue from where the kernel left off.
/// </summary>
public sealed class VhostNetDataPath : IDisposable
{
    /// <summary>
    /// Feature bits that change how the rings or the per-frame header are laid out: the kernel must understand every one the
    /// driver negotiated, or it would read the rings wrongly. The offloads are the TAP device's business (TUNSETOFFLOAD).
    /// </summary>
    public const ulong RingFeatures = VirtioFeature.Version1 | VirtioFeature.RingIndirectDescriptors | VirtioFeature.RingEventIndex | NetFeature.MergeableReceiveBuffers;

    private readonly IVhostNet vhost;
    private readonly int tapDescriptor;
    private readonly string name;
    private bool owned;
    private int runningQueues;

    public VhostNetDataPath(IVhostNet vhost, int tapDescriptor, string name)
    {
        this.vhost = vhost;
        this.tapDescriptor = tapDescriptor;
        this.name = name;
    }

    /// <summary>Whether the kernel serves the queues now (between <see cref="Start"/> and <see cref="Stop"/>).</summary>
    public bool Running => runningQueues > 0;

    /// <summary>
    /// Gives <paramref name="queues"/> (receive first, then transmit, as virtio-net numbers them) to vhost-net. Throws
    /// <see cref="InvalidOperationException"/> when the kernel lacks a ring feature the driver negotiated or a ring is not in
    /// guest RAM; whatever was set up by then is undone.
    /// </summary>
    public void Start(GuestMemory memory, ulong negotiatedFeatures, ReadOnlySpan<VhostNetQueue> queues)
    {
        if (Running)
        {
            throw new InvalidOperationException($"{name}: vhost-net already serves the queues; stop it first.");
        }

        if (!owned)
        {
            vhost.SetOwner();
            owned = true;
        }

        ulong kernelFeatures = vhost.GetFeatures();
        ulong missing = negotiatedFeatures & RingFeatures & ~kernelFeatures;
        if (missing != 0)
        {
            throw new InvalidOperationException(
                $"{name}: the host's vhost-net lacks feature bits 0x{missing:x} the guest's driver negotiated (it offers 0x{kernelFeatures:x}); update the host kernel or remove vhost=on.");
        }

        vhost.SetFeatures(negotiatedFeatures & kernelFeatures);
        vhost.SetMemoryTable(memory.Regions);
        for (int index = 0; index < queues.Length; index++)
        {
            var queue = queues[index];
            vhost.SetVringNumber(index, queue.Size);
            vhost.SetVringAddress(
                index,
                HostAddress(memory, index, "descriptor table", queue.DescriptorTable, 16UL * queue.Size),
                HostAddress(memory, index, "used ring", queue.DeviceArea, 6 + (8UL * queue.Size)),
                HostAddress(memory, index, "available ring", queue.DriverArea, 6 + (2UL * queue.Size)));
            vhost.SetVringBase(index, queue.NextAvailable);
            vhost.SetVringKick(index, queue.KickEventFd);
            vhost.SetVringCall(index, queue.CallEventFd);
        }

        try
        {
            for (int index = 0; index < queues.Length; index++)
            {
                vhost.SetBackend(index, tapDescriptor);
                runningQueues = index + 1;
            }
        }
        catch
        {
            Stop([]);
            throw;
        }
    }

    /// <summary>
    /// Detaches the TAP device from every queue and writes each queue's available index, as the kernel left it, into
    /// <paramref name="nextAvailable"/> (as many as it holds). Does nothing (and returns false) when the kernel was not serving the queues.
    /// </summary>
    public bool Stop(Span<ushort> nextAvailable)
    {
        if (!Running)
        {
            return false;
        }

        int count = runningQueues;
        runningQueues = 0;
        for (int index = 0; index < count; index++)
        {
            vhost.SetBackend(index, -1);
        }

        for (int index = 0; index < count; index++)
        {
            // GET_VRING_BASE also stops the kernel's use of the ring, so it is asked even when the caller keeps no index.
            ushort reached = vhost.GetVringBase(index);
            if (index < nextAvailable.Length)
            {
                nextAvailable[index] = reached;
            }
        }

        return true;
    }

    public void Dispose()
    {
        Stop([]);
        vhost.Dispose();
    }

    private nint HostAddress(GuestMemory memory, int queue, string part, GuestAddress address, ulong length)
    {
        if (!memory.TryGetHostAddress(address, length, out nint host))
        {
            throw new InvalidOperationException(
                $"{name}: queue {queue}'s {part} at 0x{address.Value:x} ({length} bytes) is not in one guest RAM region, so vhost-net cannot map it.");
        }

        return host;
    }
}

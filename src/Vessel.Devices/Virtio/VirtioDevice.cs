using Vessel.Devices.Virtio.Queues;

namespace Vessel.Devices.Virtio;

/// <summary>
/// A virtio device's own half, independent of the transport (vm-virtio's shape): its type, feature bits, configuration
/// space and how it serves its queues. The PCI transport calls <see cref="ProcessQueue"/> on the machine's I/O thread, under
/// the transport's lock, only between DRIVER_OK and the next reset.
/// </summary>
public abstract class VirtioDevice
{
    public abstract VirtioDeviceType Type { get; }

    /// <summary>Device-specific feature bits (the transport adds VERSION_1, INDIRECT_DESC and EVENT_IDX).</summary>
    public abstract ulong DeviceFeatures { get; }

    public abstract int QueueCount { get; }

    public virtual ushort MaximumQueueSize => 256;

    /// <summary>Bytes of device configuration space.</summary>
    public abstract int ConfigurationSize { get; }

    /// <summary>Set while the driver has the device running (between DRIVER_OK and reset).</summary>
    protected IVirtioDeviceContext? Context { get; private set; }

    public abstract void ReadConfiguration(int offset, Span<byte> data);

    public virtual void WriteConfiguration(int offset, ReadOnlySpan<byte> data)
    {
    }

    /// <summary>Serves <paramref name="queueIndex"/>: take chains, do the work, return them, notify.</summary>
    public abstract void ProcessQueue(int queueIndex);

    /// <summary>The driver set DRIVER_OK: the queues are live.</summary>
    public void Activate(IVirtioDeviceContext context)
    {
        Context = context;
        OnActivated();
    }

    /// <summary>The driver reset the device (or the machine stops): forget in-flight state.</summary>
    public void Reset()
    {
        Context = null;
        OnReset();
    }

    /// <summary>
    /// Under KVM, once the driver runs and every queue's doorbell is an ioeventfd: a device whose queues the host kernel can
    /// serve itself (vhost-net) hands them over, woken by <paramref name="kickEventFds"/> and interrupting through
    /// <paramref name="callEventFds"/> (one each per queue), and returns true; the transport then stops watching those
    /// doorbells. False keeps the queues here. Called under the transport's lock.
    /// </summary>
    public virtual bool StartKernelDataPath(ReadOnlySpan<int> kickEventFds, ReadOnlySpan<int> callEventFds) => false;

    /// <summary>Takes the queues back from the host kernel, their positions where it left them. Called under the transport's lock.</summary>
    public virtual void StopKernelDataPath()
    {
    }

    protected virtual void OnActivated()
    {
    }

    protected virtual void OnReset()
    {
    }

    /// <summary>
    /// The common serving loop for request/response devices: pops each chain, lets <paramref name="serve"/> handle it and say how
    /// many bytes it wrote, returns it, and notifies once for the batch. A queue the driver broke fails the device.
    /// </summary>
    protected void ServeRequests(int queueIndex, DescriptorChain chain, Func<DescriptorChain, uint> serve)
    {
        var context = Context;
        if (context == null)
        {
            return;
        }

        var queue = context.Queues[queueIndex];
        while (true)
        {
            var result = queue.TryPop(chain);
            if (result == PopResult.Empty)
            {
                break;
            }

            if (result == PopResult.Violation)
            {
                context.Fail($"queue {queueIndex}: {queue.Violation}");
                return;
            }

            queue.PushUsed(chain.Head, serve(chain));
        }

        if (queue.NeedsInterrupt())
        {
            context.NotifyUsed(queueIndex);
        }
    }
}

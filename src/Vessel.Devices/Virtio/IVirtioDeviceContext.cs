using Vessel.Core.Memory;
using Vessel.Devices.Virtio.Queues;

namespace Vessel.Devices.Virtio;

/// <summary>What a virtio device sees of its transport once the driver set it up: memory, queues, and the ways back to the guest.</summary>
public interface IVirtioDeviceContext
{
    GuestMemory Memory { get; }

    IReadOnlyList<SplitVirtqueue> Queues { get; }

    /// <summary>The feature bits both sides agreed on.</summary>
    ulong NegotiatedFeatures { get; }

    /// <summary>Tells the driver that <paramref name="queueIndex"/>'s used ring has new entries, if it asked to hear (EVENT_IDX or flags).</summary>
    void NotifyUsed(int queueIndex);

    /// <summary>Sends the configuration-change interrupt (the device's configuration space changed).</summary>
    void NotifyConfigurationChanged();

    /// <summary>Runs the device's <see cref="VirtioDevice.ProcessQueue"/> for <paramref name="queueIndex"/> on the I/O thread soon (host input arrived).</summary>
    void ScheduleQueue(int queueIndex);

    /// <summary>The driver broke the rules: the device stops, sets DEVICE_NEEDS_RESET and tells the driver (§2.1.2).</summary>
    void Fail(string reason);
}

using Vessel.Core.Memory;
using Vessel.Devices.Virtio;
using Vessel.Devices.Virtio.Queues;

namespace Vessel.Devices.Tests.Virtio;

/// <summary>The transport as a device sees it, without PCI: queues in guest memory, and counters for what the device asked of it.</summary>
public sealed class FakeVirtioContext(GuestMemory memory, IReadOnlyList<SplitVirtqueue> queues, ulong features) : IVirtioDeviceContext
{
    public GuestMemory Memory => memory;

    public IReadOnlyList<SplitVirtqueue> Queues => queues;

    public ulong NegotiatedFeatures => features;

    public List<int> Interrupts { get; } = [];

    public List<int> Scheduled { get; } = [];

    public string? Failure { get; private set; }

    public void NotifyUsed(int queueIndex) => Interrupts.Add(queueIndex);

    public void NotifyConfigurationChanged()
    {
    }

    public void ScheduleQueue(int queueIndex) => Scheduled.Add(queueIndex);

    public void Fail(string reason) => Failure ??= reason;
}

namespace Vessel.Devices.Virtio.Queues;

/// <summary>What <see cref="SplitVirtqueue.TryPop"/> found.</summary>
public enum PopResult
{
    /// <summary>No new buffers.</summary>
    Empty,

    /// <summary>A chain, walked and checked.</summary>
    Chain,

    /// <summary>The driver broke the queue's rules; <see cref="SplitVirtqueue.Violation"/> says how. The device must stop using it.</summary>
    Violation,
}

namespace Vessel.Devices.Virtio;

/// <summary>Feature bits every device type shares (virtio 1.2 §6, "Reserved Feature Bits").</summary>
public static class VirtioFeature
{
    /// <summary>VIRTIO_F_INDIRECT_DESC (28): descriptors may point at tables of descriptors.</summary>
    public const ulong RingIndirectDescriptors = 1UL << 28;

    /// <summary>VIRTIO_F_EVENT_IDX (29): used_event / avail_event suppress notifications.</summary>
    public const ulong RingEventIndex = 1UL << 29;

    /// <summary>VIRTIO_F_VERSION_1 (32): a virtio 1.x device; without it a modern-only device refuses FEATURES_OK.</summary>
    public const ulong Version1 = 1UL << 32;
}

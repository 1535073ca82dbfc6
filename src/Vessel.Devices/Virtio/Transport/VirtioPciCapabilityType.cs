namespace Vessel.Devices.Virtio.Transport;

/// <summary>cfg_type of a virtio PCI capability (virtio 1.2 §4.1.4).</summary>
public enum VirtioPciCapabilityType : byte
{
    CommonConfiguration = 1,
    Notify = 2,
    InterruptStatus = 3,
    DeviceConfiguration = 4,
}

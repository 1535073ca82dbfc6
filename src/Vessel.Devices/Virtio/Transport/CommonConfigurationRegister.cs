namespace Vessel.Devices.Virtio.Transport;

/// <summary>Offsets in struct virtio_pci_common_cfg (virtio 1.2 §4.1.4.3).</summary>
public static class CommonConfigurationRegister
{
    public const int DeviceFeatureSelect = 0x00;
    public const int DeviceFeature = 0x04;
    public const int DriverFeatureSelect = 0x08;
    public const int DriverFeature = 0x0C;
    public const int ConfigurationMsixVector = 0x10;
    public const int QueueCount = 0x12;
    public const int DeviceStatus = 0x14;
    public const int ConfigurationGeneration = 0x15;
    public const int QueueSelect = 0x16;
    public const int QueueSize = 0x18;
    public const int QueueMsixVector = 0x1A;
    public const int QueueEnable = 0x1C;
    public const int QueueNotifyOffset = 0x1E;
    public const int QueueDescriptor = 0x20;
    public const int QueueDriver = 0x28;
    public const int QueueDevice = 0x30;
    public const int QueueNotifyData = 0x38;
    public const int QueueReset = 0x3A;

    /// <summary>Size of the structure.</summary>
    public const int Size = 0x3C;
}

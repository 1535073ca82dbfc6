namespace Vessel.Devices.Virtio.Block;

/// <summary>The status byte a request ends with (virtio 1.2 §5.2.6).</summary>
public enum BlockRequestStatus : byte
{
    Ok = 0,
    IoError = 1,
    Unsupported = 2,
}

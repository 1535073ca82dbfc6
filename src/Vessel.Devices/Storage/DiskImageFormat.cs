namespace Vessel.Devices.Storage;

/// <summary>The on-disk format of an image file (QEMU's names: <c>raw</c>, <c>qcow2</c>).</summary>
public enum DiskImageFormat
{
    Raw,
    Qcow2,
}

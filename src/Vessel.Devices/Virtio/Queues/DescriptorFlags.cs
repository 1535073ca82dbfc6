namespace Vessel.Devices.Virtio.Queues;

/// <summary>struct virtq_desc's flags (virtio 1.2 §2.7.5).</summary>
[Flags]
public enum DescriptorFlags : ushort
{
    None = 0,

    /// <summary>VIRTQ_DESC_F_NEXT: the chain continues at <c>next</c>.</summary>
    Next = 1,

    /// <summary>VIRTQ_DESC_F_WRITE: the device writes this buffer (otherwise it only reads it).</summary>
    Write = 2,

    /// <summary>VIRTQ_DESC_F_INDIRECT: the buffer is a table of descriptors (§2.7.5.3).</summary>
    Indirect = 4,
}

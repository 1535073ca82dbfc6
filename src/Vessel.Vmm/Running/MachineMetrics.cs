namespace Vessel.Vmm.Running;

/// <summary>
/// Counters for the machine's metrics (Firecracker's <c>PUT /metrics</c>), updated with <see cref="Interlocked"/> on
/// the paths that count them and read at flush time. Fields, not properties, so they can be passed by reference.
/// </summary>
public sealed class MachineMetrics
{
    /// <summary>Port reads the guest made (KVM_EXIT_IO in; the software CPU's IN/INS).</summary>
    public long PortReads;

    public long PortWrites;

    /// <summary>MMIO reads the guest made (KVM_EXIT_MMIO; the software CPU's slow-path loads).</summary>
    public long MmioReads;

    public long MmioWrites;

    /// <summary>virtio-blk traffic: the block device adds to these.</summary>
    public long BlockReadBytes;

    public long BlockWriteBytes;

    public long BlockReadCount;

    public long BlockWriteCount;

    /// <summary>virtio-net traffic: the network device adds to these.</summary>
    public long NetReceiveBytes;

    public long NetTransmitBytes;

    public long NetReceiveCount;

    public long NetTransmitCount;
}

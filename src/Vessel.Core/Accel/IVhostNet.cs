using Vessel.Core.Memory;

namespace Vessel.Core.Accel;

/// <summary>
/// One open /dev/vhost-net: the host kernel's virtio-net data path, which moves frames between a TAP device and the guest's
/// rings while Vessel only sets it up. Each method is one vhost ioctl (include/uapi/linux/vhost.h), so a fake can record the
/// whole set-up sequence; the KVM implementation issues them. A refused ioctl throws <see cref="IOException"/> naming it.
/// </summary>
public interface IVhostNet : IDisposable
{
    /// <summary>VHOST_SET_OWNER: binds the kernel worker to this process. Once per descriptor.</summary>
    void SetOwner();

    /// <summary>VHOST_GET_FEATURES: the virtio feature bits this kernel's vhost-net understands.</summary>
    ulong GetFeatures();

    /// <summary>VHOST_SET_FEATURES: the bits the guest's driver negotiated that vhost-net must honour (ring layout, header size).</summary>
    void SetFeatures(ulong features);

    /// <summary>VHOST_SET_MEM_TABLE: every guest RAM region with its host address, so the kernel can follow guest addresses.</summary>
    void SetMemoryTable(IReadOnlyList<MemoryRegion> regions);

    /// <summary>VHOST_SET_VRING_NUM: the ring's size.</summary>
    void SetVringNumber(int queue, ushort size);

    /// <summary>VHOST_SET_VRING_ADDR: the ring's descriptor table, used ring and available ring as host addresses.</summary>
    void SetVringAddress(int queue, nint descriptorTable, nint usedRing, nint availableRing);

    /// <summary>VHOST_SET_VRING_BASE: the available-ring index the kernel starts from.</summary>
    void SetVringBase(int queue, ushort nextAvailable);

    /// <summary>VHOST_GET_VRING_BASE: stops the ring and returns the available-ring index the kernel reached.</summary>
    ushort GetVringBase(int queue);

    /// <summary>VHOST_SET_VRING_KICK: the eventfd the guest's doorbell signals (KVM's ioeventfd).</summary>
    void SetVringKick(int queue, int eventFd);

    /// <summary>VHOST_SET_VRING_CALL: the eventfd the kernel signals for a used-ring interrupt (KVM's irqfd on the queue's MSI route).</summary>
    void SetVringCall(int queue, int eventFd);

    /// <summary>VHOST_NET_SET_BACKEND: the TAP descriptor the ring moves frames to and from; -1 detaches it (the ring stops).</summary>
    void SetBackend(int queue, int tapDescriptor);
}

namespace Vessel.Kvm.Interop;

/// <summary>
/// vhost ioctl request numbers (include/uapi/linux/vhost.h), on a /dev/vhost-net descriptor: the kernel's virtio-net data
/// path, which userspace only sets up (owner, features, guest memory table, each ring's size, addresses, start index, kick
/// and call eventfds, and the TAP device as backend). The layout tests compare each one with the header's own value.
/// </summary>
internal static class VhostIoctls
{
    /// <summary>VHOST_VIRTIO: the type byte of every vhost ioctl.</summary>
    public const byte Type = 0xAF;

    public static readonly ulong GetFeatures = IoctlNumber.Ior<ulong>(Type, 0x00);
    public static readonly ulong SetFeatures = IoctlNumber.Iow<ulong>(Type, 0x00);
    public static readonly ulong SetOwner = IoctlNumber.Io(Type, 0x01);
    public static readonly ulong ResetOwner = IoctlNumber.Io(Type, 0x02);
    public static readonly ulong SetMemTable = IoctlNumber.Iow<VhostMemory>(Type, 0x03);
    public static readonly ulong SetVringNum = IoctlNumber.Iow<VhostVringState>(Type, 0x10);
    public static readonly ulong SetVringAddr = IoctlNumber.Iow<VhostVringAddress>(Type, 0x11);
    public static readonly ulong SetVringBase = IoctlNumber.Iow<VhostVringState>(Type, 0x12);
    public static readonly ulong GetVringBase = IoctlNumber.Iowr<VhostVringState>(Type, 0x12);
    public static readonly ulong SetVringKick = IoctlNumber.Iow<VhostVringFile>(Type, 0x20);
    public static readonly ulong SetVringCall = IoctlNumber.Iow<VhostVringFile>(Type, 0x21);
    public static readonly ulong SetVringErr = IoctlNumber.Iow<VhostVringFile>(Type, 0x22);
    public static readonly ulong NetSetBackend = IoctlNumber.Iow<VhostVringFile>(Type, 0x30);
}

using System.Runtime.InteropServices;

namespace Vessel.Devices.Interop;

/// <summary>The TUN/TAP driver's interface (linux/if_tun.h, Documentation/networking/tuntap.rst).</summary>
internal static partial class LibC
{
    public const int EBUSY = 16;
    public const int EINVAL = 22;

    /// <summary>_IOW('T', 202, int): attach this descriptor to a TAP device, creating it when it does not exist.</summary>
    public const ulong TUNSETIFF = 0x400454CA;

    /// <summary>_IOW('T', 208, unsigned int): which offloads the host side accepts in frames it sends us.</summary>
    public const ulong TUNSETOFFLOAD = 0x400454D0;

    /// <summary>_IOW('T', 216, int): the size of the virtio_net_hdr before each frame.</summary>
    public const ulong TUNSETVNETHDRSZ = 0x400454D8;

    public const short IFF_TAP = 0x0002;
    public const short IFF_NO_PI = 0x1000;
    public const short IFF_VNET_HDR = 0x4000;

    public const uint TUN_F_CSUM = 0x01;
    public const uint TUN_F_TSO4 = 0x02;
    public const uint TUN_F_TSO6 = 0x04;
    public const uint TUN_F_TSO_ECN = 0x08;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int ioctl(int fd, ulong request, ref InterfaceRequest value);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int ioctl(int fd, ulong request, ref int value);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int ioctl(int fd, ulong request, nuint value);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static partial nint write(int fd, ReadOnlySpan<byte> buf, nuint count);

    /// <summary>struct ifreq as TUNSETIFF reads it: ifr_name[IFNAMSIZ = 16], then ifr_flags in the 24-byte union.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 40)]
    public unsafe struct InterfaceRequest
    {
        public fixed byte Name[16];
        public short Flags;
    }
}

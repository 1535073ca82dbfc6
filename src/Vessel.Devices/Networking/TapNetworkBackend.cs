using System.Runtime.InteropServices;
using Vessel.Core.Logging;
using Vessel.Devices.Interop;
using Vessel.Devices.Io;
using Vessel.Devices.Virtio.Net;

namespace Vessel.Devices.Networking;

/// <summary>
/// A host TAP device (Documentation/networking/tuntap.rst) with IFF_VNET_HDR: each read and write is one frame behind a 12-byte
/// virtio_net_hdr, so the guest's checksum and TSO offloads pass straight through to the host stack, and the host's large
/// segments reach a guest that accepts them. The device is attached if it exists, created if not (root or CAP_NET_ADMIN).
/// </summary>
public sealed class TapNetworkBackend : INetworkBackend
{
    private readonly int fd;
    private readonly IoEventLoop ioThread;
    private readonly IMachineLog log;
    private readonly string name;
    private readonly object interestLock = new();
    private readonly Readable readable;
    private Action? frameMayBeWaiting;
    private bool watching;
    private bool disposed;
    private bool reportedWriteError;

    public TapNetworkBackend(string deviceName, IoEventLoop ioThread, IMachineLog log, string name)
    {
        this.ioThread = ioThread;
        this.log = log;
        this.name = name;
        DeviceName = deviceName;
        fd = LibC.open("/dev/net/tun", LibC.O_RDWR | LibC.O_NONBLOCK | LibC.O_CLOEXEC, 0);
        if (fd < 0)
        {
            int error = Marshal.GetLastPInvokeError();
            throw new NetworkBackendException(error switch
            {
                LibC.ENOENT => $"{name}: /dev/net/tun does not exist, so no TAP device can be opened. Load the tun module (modprobe tun) or use --net user.",
                LibC.EACCES or LibC.EPERM => $"{name}: no permission to open /dev/net/tun. Run as root or with CAP_NET_ADMIN, or use --net user.",
                _ => $"{name}: opening /dev/net/tun failed (errno {error}).",
            });
        }

        try
        {
            Attach(deviceName);
        }
        catch
        {
            Epoll.close(fd);
            throw;
        }

        readable = new Readable(this);
    }

    public string DeviceName { get; }

    /// <summary>The TAP descriptor, for the kernel's vhost-net to use as its backend. Valid until disposed.</summary>
    public int Descriptor => fd;

    public int VirtioHeaderLength => NetHeader.Size;

    public ulong OffloadFeatures => NetFeature.TapOffloads;

    public void Start(Action frameMayBeWaiting) => this.frameMayBeWaiting = frameMayBeWaiting;

    /// <summary>TUNSETOFFLOAD: the host may hand us only what the guest's driver accepts (GUEST_CSUM, GUEST_TSO4/6, GUEST_ECN).</summary>
    public void SetOffloads(ulong negotiatedFeatures)
    {
        uint offloads = 0;
        if ((negotiatedFeatures & NetFeature.GuestChecksum) != 0)
        {
            offloads |= LibC.TUN_F_CSUM;
            offloads |= (negotiatedFeatures & NetFeature.GuestTso4) != 0 ? LibC.TUN_F_TSO4 : 0;
            offloads |= (negotiatedFeatures & NetFeature.GuestTso6) != 0 ? LibC.TUN_F_TSO6 : 0;
            offloads |= (negotiatedFeatures & NetFeature.GuestEcn) != 0 ? LibC.TUN_F_TSO_ECN : 0;
        }

        if (LibC.ioctl(fd, LibC.TUNSETOFFLOAD, offloads) != 0)
        {
            log.Warn($"{name}: TAP {DeviceName} refused offloads 0x{offloads:x} (errno {Marshal.GetLastPInvokeError()}); frames go unsegmented.");
            LibC.ioctl(fd, LibC.TUNSETOFFLOAD, 0);
        }
    }

    public void SetReceiveInterest(bool interested)
    {
        lock (interestLock)
        {
            if (disposed || interested == watching)
            {
                return;
            }

            if (interested)
            {
                ioThread.Watch(fd, readable);
            }
            else
            {
                ioThread.Unwatch(fd);
            }

            watching = interested;
        }
    }

    public int Receive(Span<byte> buffer)
    {
        // One read is one frame; a frame longer than the buffer is cut by the kernel, which cannot be a 64 KiB GSO frame's size.
        nint count = LibC.read(fd, buffer, (nuint)buffer.Length);
        return count > NetHeader.Size ? (int)count : 0;
    }

    public void Send(ReadOnlySpan<byte> frame)
    {
        nint written = LibC.write(fd, frame, (nuint)frame.Length);
        if (written < 0 && !reportedWriteError)
        {
            int error = Marshal.GetLastPInvokeError();
            if (error != LibC.EAGAIN)
            {
                // A TAP device that is down refuses frames (EIO); a full queue drops them (EAGAIN), as a busy link does.
                reportedWriteError = true;
                log.Warn($"{name}: TAP {DeviceName} refused a frame (errno {error}); is the device up? (logged once)");
            }
        }
    }

    public void Dispose()
    {
        lock (interestLock)
        {
            if (disposed)
            {
                return;
            }

            // The machine disposes backends after its I/O thread; closing the descriptor also leaves any epoll set.
            disposed = true;
        }

        Epoll.close(fd);
    }

    private unsafe void Attach(string deviceName)
    {
        var request = default(LibC.InterfaceRequest);
        byte[] nameBytes = System.Text.Encoding.ASCII.GetBytes(deviceName);
        if (nameBytes.Length > 15)
        {
            throw new NetworkBackendException($"{name}: the TAP device name '{deviceName}' is longer than Linux's 15 characters.");
        }

        // Safety: Name is a fixed 16-byte buffer inside the local struct and nameBytes is at most 15 bytes (checked above).
        for (int index = 0; index < nameBytes.Length; index++)
        {
            request.Name[index] = nameBytes[index];
        }

        request.Flags = LibC.IFF_TAP | LibC.IFF_NO_PI | LibC.IFF_VNET_HDR;
        if (LibC.ioctl(fd, LibC.TUNSETIFF, ref request) != 0)
        {
            int error = Marshal.GetLastPInvokeError();
            throw new NetworkBackendException(error switch
            {
                LibC.EPERM or LibC.EACCES => $"{name}: no permission to attach TAP device '{deviceName}'. Create it for your user first (ip tuntap add dev {deviceName} mode tap user $USER), or run as root or with CAP_NET_ADMIN.",
                LibC.EBUSY => $"{name}: TAP device '{deviceName}' is busy: another process (another VM?) has it open. Stop that process or choose another device.",
                LibC.EINVAL => $"{name}: '{deviceName}' exists but is not a TAP device (a TUN device, or one made with other flags). Choose another name.",
                _ => $"{name}: attaching TAP device '{deviceName}' failed (errno {error}).",
            });
        }

        int headerSize = NetHeader.Size;
        if (LibC.ioctl(fd, LibC.TUNSETVNETHDRSZ, ref headerSize) != 0)
        {
            throw new NetworkBackendException($"{name}: TAP device '{deviceName}' refused a {NetHeader.Size}-byte virtio-net header (errno {Marshal.GetLastPInvokeError()}).");
        }
    }

    /// <summary>The device became readable: stop watching (the device re-arms when it has read all) and tell the device.</summary>
    private sealed class Readable(TapNetworkBackend owner) : IoWork
    {
        public override void Run()
        {
            owner.SetReceiveInterest(false);
            owner.frameMayBeWaiting?.Invoke();
        }
    }
}

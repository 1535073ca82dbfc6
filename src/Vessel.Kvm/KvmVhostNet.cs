using System.Runtime.InteropServices;
using Vessel.Core.Accel;
using Vessel.Core.Memory;
using Vessel.Kvm.Interop;

namespace Vessel.Kvm;

/// <summary>
/// /dev/vhost-net through its ioctls (include/uapi/linux/vhost.h): the kernel moves a TAP device's frames to and from the guest's
/// rings, woken by KVM's ioeventfds and interrupting through its irqfds. <see cref="Open"/> says plainly when the host lacks it.
/// </summary>
public sealed unsafe class KvmVhostNet : IVhostNet
{
    public const string DevicePath = "/dev/vhost-net";

    private readonly SafeVhostHandle handle;

    private KvmVhostNet(SafeVhostHandle handle) => this.handle = handle;

    /// <summary>Whether this host has /dev/vhost-net; when not, <paramref name="reason"/> is one sentence saying what to do.</summary>
    public static bool IsAvailable(out string reason)
    {
        reason = File.Exists(DevicePath)
            ? string.Empty
            : $"this host has no {DevicePath} (the vhost_net module is not loaded); load it with 'modprobe vhost_net' or remove vhost=on.";
        return reason.Length == 0;
    }

    /// <summary>Opens /dev/vhost-net; throws <see cref="IOException"/> saying why it could not and what to do.</summary>
    public static KvmVhostNet Open()
    {
        int fd = Libc.Open(DevicePath, Libc.OpenReadWrite | Libc.OpenCloseOnExec);
        if (fd < 0)
        {
            int error = Marshal.GetLastPInvokeError();
            throw new IOException(error switch
            {
                Libc.ErrorNoEntry or Libc.ErrorNoDevice => $"{DevicePath} does not exist: load the vhost_net module ('modprobe vhost_net') or remove vhost=on.",
                Libc.ErrorAccess or Libc.ErrorPermission => $"no permission to open {DevicePath}: add your user to its group (often 'kvm') or run as root, or remove vhost=on.",
                _ => $"opening {DevicePath} failed (errno {error}).",
            });
        }

        return new KvmVhostNet(new SafeVhostHandle(fd));
    }

    public void SetOwner() => Check(Libc.Ioctl(handle, VhostIoctls.SetOwner, 0), "VHOST_SET_OWNER");

    public ulong GetFeatures()
    {
        ulong features = 0;

        // Safety: features is a local u64, the size VHOST_GET_FEATURES encodes.
        Check(Libc.Ioctl(handle, VhostIoctls.GetFeatures, &features), "VHOST_GET_FEATURES");
        return features;
    }

    public void SetFeatures(ulong features)
    {
        // Safety: features is a local u64, the size VHOST_SET_FEATURES encodes.
        Check(Libc.Ioctl(handle, VhostIoctls.SetFeatures, &features), "VHOST_SET_FEATURES");
    }

    public void SetMemoryTable(IReadOnlyList<MemoryRegion> regions)
    {
        int size = sizeof(VhostMemory) + (regions.Count * sizeof(VhostMemoryRegion));
        byte* buffer = stackalloc byte[size];
        var header = (VhostMemory*)buffer;
        *header = new VhostMemory { Nregions = (uint)regions.Count };
        var table = (VhostMemoryRegion*)(buffer + sizeof(VhostMemory));
        for (int index = 0; index < regions.Count; index++)
        {
            table[index] = new VhostMemoryRegion
            {
                GuestPhysAddr = regions[index].Start.Value,
                MemorySize = regions[index].Size,
                UserspaceAddr = (ulong)regions[index].HostAddress,
            };
        }

        // Safety: buffer holds a vhost_memory header followed by Nregions vhost_memory_region entries, the flexible array the
        // kernel reads; the host ranges stay mapped for GuestMemory's lifetime, which outlives this descriptor.
        Check(Libc.Ioctl(handle, VhostIoctls.SetMemTable, buffer), "VHOST_SET_MEM_TABLE");
    }

    public void SetVringNumber(int queue, ushort size) => SetState(VhostIoctls.SetVringNum, queue, size, "VHOST_SET_VRING_NUM");

    public void SetVringAddress(int queue, nint descriptorTable, nint usedRing, nint availableRing)
    {
        var address = new VhostVringAddress
        {
            Index = (uint)queue,
            DescUserAddr = (ulong)descriptorTable,
            UsedUserAddr = (ulong)usedRing,
            AvailUserAddr = (ulong)availableRing,
        };

        // Safety: address is a local vhost_vring_addr, the size VHOST_SET_VRING_ADDR encodes.
        Check(Libc.Ioctl(handle, VhostIoctls.SetVringAddr, &address), "VHOST_SET_VRING_ADDR");
    }

    public void SetVringBase(int queue, ushort nextAvailable) => SetState(VhostIoctls.SetVringBase, queue, nextAvailable, "VHOST_SET_VRING_BASE");

    public ushort GetVringBase(int queue)
    {
        var state = new VhostVringState { Index = (uint)queue };

        // Safety: state is a local vhost_vring_state; the kernel writes the index back into Num.
        Check(Libc.Ioctl(handle, VhostIoctls.GetVringBase, &state), "VHOST_GET_VRING_BASE");
        return (ushort)state.Num;
    }

    public void SetVringKick(int queue, int eventFd) => SetFile(VhostIoctls.SetVringKick, queue, eventFd, "VHOST_SET_VRING_KICK");

    public void SetVringCall(int queue, int eventFd) => SetFile(VhostIoctls.SetVringCall, queue, eventFd, "VHOST_SET_VRING_CALL");

    public void SetBackend(int queue, int tapDescriptor) => SetFile(VhostIoctls.NetSetBackend, queue, tapDescriptor, "VHOST_NET_SET_BACKEND");

    public void Dispose() => handle.Dispose();

    private void SetState(ulong request, int queue, uint number, string what)
    {
        var state = new VhostVringState { Index = (uint)queue, Num = number };

        // Safety: state is a local vhost_vring_state, the size the request encodes.
        Check(Libc.Ioctl(handle, request, &state), what);
    }

    private void SetFile(ulong request, int queue, int descriptor, string what)
    {
        var file = new VhostVringFile { Index = (uint)queue, Fd = descriptor };

        // Safety: file is a local vhost_vring_file, the size the request encodes.
        Check(Libc.Ioctl(handle, request, &file), what);
    }

    private static void Check(int result, string what)
    {
        if (result < 0)
        {
            throw new IOException($"{DevicePath}: {what} failed (errno {Marshal.GetLastPInvokeError()}).");
        }
    }
}

using System.Runtime.InteropServices;
using Vessel.Core.Accel;
using Vessel.Kvm.Interop;

namespace Vessel.Kvm;

/// <summary>An ioeventfd: the kernel adds one to the eventfd for each guest write of the registered width at the address.</summary>
internal sealed unsafe class KvmIoEvent : IKernelIoEvent
{
    private readonly SafeKvmVmHandle vm;
    private readonly SafeEventFdHandle eventFd;
    private readonly ulong address;
    private readonly uint length;
    private int disposed;

    public KvmIoEvent(SafeKvmVmHandle vm, SafeEventFdHandle eventFd, ulong address, uint length)
    {
        this.vm = vm;
        this.eventFd = eventFd;
        this.address = address;
        this.length = length;
        Descriptor = (int)eventFd.DangerousGetHandle();
    }

    public int Descriptor { get; }

    public ulong Drain()
    {
        ulong count = 0;
        try
        {
            // Safety: count is a local 8-byte integer, the size an eventfd read fills. The descriptor is non-blocking, so
            // an unsignalled eventfd answers EAGAIN, which leaves count at 0.
            return Libc.Read(eventFd, &count, sizeof(ulong)) == sizeof(ulong) ? count : 0;
        }
        catch (ObjectDisposedException)
        {
            // The registration was dropped (the BAR moved) while the I/O thread was on its way here.
            return 0;
        }
    }

    public void Signal()
    {
        ulong one = 1;
        try
        {
            // Safety: one is a local 8-byte integer, the size an eventfd write takes.
            _ = Libc.Write(eventFd, &one, sizeof(ulong));
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        var registration = Registration(address, length, eventFd) with { Flags = KvmIoeventfd.FlagDeassign };
        try
        {
            // Safety: registration is a local kvm_ioeventfd naming the same address, length and eventfd as the assignment.
            // A failure leaves nothing to undo: the VM is gone (and took its registrations along) or never had this one.
            _ = Libc.Ioctl(vm, KvmIoctls.Ioeventfd, &registration);
        }
        catch (ObjectDisposedException)
        {
        }

        eventFd.Dispose();
    }

    /// <summary>The kvm_ioeventfd that assigns (no flags) or, with FlagDeassign, removes this registration.</summary>
    internal static KvmIoeventfd Registration(ulong address, uint length, SafeEventFdHandle eventFd) => new()
    {
        Addr = address,
        Len = length,
        Fd = (int)eventFd.DangerousGetHandle(),
    };

    /// <summary>KVM_IOEVENTFD for an MMIO write of <paramref name="length"/> bytes at <paramref name="address"/>.</summary>
    internal static KvmIoEvent Register(SafeKvmVmHandle vm, ulong address, int length)
    {
        if (length is not (1 or 2 or 4 or 8))
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"An ioeventfd matches writes of 1, 2, 4 or 8 bytes, not {length}.");
        }

        var eventFd = new SafeEventFdHandle(Libc.EventFd(0, Libc.EventFdCloseOnExec | Libc.EventFdNonBlock));
        if (eventFd.IsInvalid)
        {
            KvmIoctlException.Throw("eventfd for an ioeventfd", Marshal.GetLastPInvokeError());
        }

        var registration = Registration(address, (uint)length, eventFd);

        // Safety: registration is a local kvm_ioeventfd, the size KVM_IOEVENTFD encodes.
        if (Libc.Ioctl(vm, KvmIoctls.Ioeventfd, &registration) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            eventFd.Dispose();
            KvmIoctlException.Throw($"KVM_IOEVENTFD (MMIO 0x{address:x}, {length} bytes)", errno);
        }

        return new KvmIoEvent(vm, eventFd, address, (uint)length);
    }
}

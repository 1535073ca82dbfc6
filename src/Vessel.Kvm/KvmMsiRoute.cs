using Vessel.Core.Accel;
using Vessel.Kvm.Interop;

namespace Vessel.Kvm;

/// <summary>An irqfd on a GSI that the VM's routing table points at an MSI message: a write to the eventfd sends it.</summary>
internal sealed unsafe class KvmMsiRoute(KvmVm owner, int gsi, SafeEventFdHandle eventFd) : IKernelMsiRoute
{
    private int disposed;

    public int Gsi { get; } = gsi;

    internal SafeEventFdHandle EventFd { get; } = eventFd;

    public int Descriptor { get; } = (int)eventFd.DangerousGetHandle();

    public bool SetMessage(ulong address, uint data) => owner.SetMsiMessage(Gsi, address, data);

    public void Signal()
    {
        ulong one = 1;
        try
        {
            // Safety: one is a local 8-byte integer, the size an eventfd write takes. The counter cannot overflow in practice
            // (it saturates only after 2^64-2 unconsumed signals, and the kernel consumes each as it injects it).
            _ = Libc.Write(EventFd, &one, sizeof(ulong));
        }
        catch (ObjectDisposedException)
        {
            // The device was torn down while its I/O thread finished a request: nobody is left to interrupt.
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 0)
        {
            owner.RemoveMsiRoute(this);
        }
    }
}

namespace Vessel.Core.Accel;

/// <summary>
/// One MSI the host kernel sends when its eventfd is signalled (an irqfd on a GSI routed to an MSI message). The owner
/// decides whether the vector may fire (masks, MSI-X enable); the route only carries the message.
/// </summary>
public interface IKernelMsiRoute : IDisposable
{
    /// <summary>The GSI the kernel's routing table gives this route.</summary>
    int Gsi { get; }

    /// <summary>The irqfd's eventfd: another kernel component (vhost-net's call) may signal it directly. Valid until disposed.</summary>
    int Descriptor { get; }

    /// <summary>
    /// Points the route at a new message (a KVM_SET_GSI_ROUTING of the whole table, so call it when the message changes, not per
    /// interrupt). False when the kernel refused the message: the caller sends that message itself.
    /// </summary>
    bool SetMessage(ulong address, uint data);

    /// <summary>Signals the eventfd: the kernel delivers the message. Allocates nothing; safe from any thread.</summary>
    void Signal();
}

using Vessel.Core.Memory;

namespace Vessel.Core.Accel;

/// <summary>
/// An optional capability of an accelerator VM whose host kernel can turn guest doorbell writes into eventfd signals and
/// eventfd signals into MSIs (KVM_IOEVENTFD, KVM_IRQFD with GSI routing), so a virtio notify or completion costs no exit
/// to userspace on the vCPU. The software VM does not implement it: there a notify is already a direct hand-off to the
/// I/O thread, and an MSI a call into our own local APICs.
/// </summary>
public interface IKernelIoEvents
{
    /// <summary>Whether the host kernel offers what this needs; when not, <paramref name="reason"/> names what is missing.</summary>
    bool IsAvailable(out string reason);

    /// <summary>
    /// Has the kernel signal the returned event, instead of exiting to userspace, when the guest writes exactly
    /// <paramref name="length"/> bytes (1, 2, 4 or 8) at <paramref name="address"/>. Writes of other widths still reach the
    /// MMIO bus. Disposing the event removes the registration.
    /// </summary>
    IKernelIoEvent RegisterMmioWrite(GuestAddress address, int length);

    /// <summary>
    /// A fresh MSI route on a GSI of its own, with an eventfd the kernel listens on; null when the kernel has no GSI left
    /// (the caller then sends its MSIs itself). The route delivers nothing until <see cref="IKernelMsiRoute.SetMessage"/>.
    /// </summary>
    IKernelMsiRoute? CreateMsiRoute();
}

namespace Vessel.Core.Accel;

/// <summary>
/// An optional capability of an accelerator VM whose host kernel can run virtio-net's data path itself (vhost-net), woken by
/// the VM's ioeventfds and interrupting through its irqfds (<see cref="IKernelIoEvents"/>). KVM implements it.
/// </summary>
public interface IVhostNetHost
{
    /// <summary>Whether the host has vhost-net; when not, <paramref name="reason"/> is one sentence naming what is missing and what to do.</summary>
    bool IsVhostNetAvailable(out string reason);

    /// <summary>Opens a fresh vhost-net instance for one interface; throws <see cref="IOException"/> saying why it could not.</summary>
    IVhostNet OpenVhostNet();
}

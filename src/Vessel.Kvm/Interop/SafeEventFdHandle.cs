namespace Vessel.Kvm.Interop;

/// <summary>An eventfd(2) descriptor: an ioeventfd the kernel signals, or an irqfd it listens on.</summary>
internal sealed class SafeEventFdHandle(int fd) : SafeDescriptorHandle(fd);

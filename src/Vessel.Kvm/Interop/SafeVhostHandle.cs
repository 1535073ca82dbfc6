namespace Vessel.Kvm.Interop;

/// <summary>An open /dev/vhost-net descriptor.</summary>
internal sealed class SafeVhostHandle(int fd) : SafeDescriptorHandle(fd);

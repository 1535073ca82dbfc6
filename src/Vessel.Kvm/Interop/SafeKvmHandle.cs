namespace Vessel.Kvm.Interop;

/// <summary>The /dev/kvm descriptor, target of the system ioctls.</summary>
internal sealed class SafeKvmHandle(int fd) : SafeDescriptorHandle(fd);

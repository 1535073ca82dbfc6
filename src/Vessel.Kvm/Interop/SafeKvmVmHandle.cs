namespace Vessel.Kvm.Interop;

/// <summary>A VM descriptor from KVM_CREATE_VM, target of the VM ioctls.</summary>
internal sealed class SafeKvmVmHandle(int fd) : SafeDescriptorHandle(fd);

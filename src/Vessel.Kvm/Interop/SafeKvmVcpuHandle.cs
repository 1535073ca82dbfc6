namespace Vessel.Kvm.Interop;

/// <summary>A vCPU descriptor from KVM_CREATE_VCPU, target of the vCPU ioctls and of the kvm_run mmap.</summary>
internal sealed class SafeKvmVcpuHandle(int fd) : SafeDescriptorHandle(fd);

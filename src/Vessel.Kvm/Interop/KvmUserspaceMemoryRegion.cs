using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>struct kvm_userspace_memory_region (KVM_SET_USER_MEMORY_REGION): one memory slot backed by host memory.</summary>
[StructLayout(LayoutKind.Sequential, Size = 32)]
internal struct KvmUserspaceMemoryRegion
{
    public uint Slot;
    public uint Flags;
    public ulong GuestPhysAddr;

    /// <summary>Bytes; zero deletes the slot.</summary>
    public ulong MemorySize;

    /// <summary>Host virtual address of the slot's first byte.</summary>
    public ulong UserspaceAddr;
}

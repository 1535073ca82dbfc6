using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>The fixed header of struct kvm_msr_list (KVM_GET_MSR_INDEX_LIST); nmsrs u32 indices follow it.</summary>
[StructLayout(LayoutKind.Sequential, Size = 4)]
internal struct KvmMsrList
{
    public uint Nmsrs;
}

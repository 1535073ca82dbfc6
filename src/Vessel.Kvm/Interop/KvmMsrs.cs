using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>The fixed header of struct kvm_msrs (KVM_GET_MSRS / KVM_SET_MSRS); <see cref="KvmMsrEntry"/> entries follow it.</summary>
[StructLayout(LayoutKind.Sequential, Size = 8)]
internal struct KvmMsrs
{
    public uint Nmsrs;
    public uint Pad;
}

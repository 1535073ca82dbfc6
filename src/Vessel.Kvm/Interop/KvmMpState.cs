using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>struct kvm_mp_state (KVM_GET_MP_STATE / KVM_SET_MP_STATE).</summary>
[StructLayout(LayoutKind.Sequential, Size = 4)]
internal struct KvmMpState
{
    public uint MpState;
}

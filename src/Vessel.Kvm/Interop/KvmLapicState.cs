using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>struct kvm_lapic_state (KVM_GET_LAPIC / KVM_SET_LAPIC): the local APIC's 1 KiB register page.</summary>
[StructLayout(LayoutKind.Sequential, Size = KvmConstants.ApicRegisterSize)]
internal unsafe struct KvmLapicState
{
    public fixed byte Regs[KvmConstants.ApicRegisterSize];
}

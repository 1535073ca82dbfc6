namespace Vessel.Kvm.Interop;

/// <summary>kvm_mp_state.mp_state values (KVM_MP_STATE_*) that x86 uses.</summary>
internal enum KvmMpStateValue : uint
{
    Runnable = 0,
    Uninitialized = 1,
    InitReceived = 2,
    Halted = 3,
    SipiReceived = 4,
}

namespace Vessel.Kvm.Interop;

/// <summary>kvm_run.internal.suberror values (KVM_INTERNAL_ERROR_*).</summary>
internal enum KvmInternalErrorSuberror : uint
{
    Emulation = 1,
    SimultaneousException = 2,
    DeliveryEvent = 3,
    UnexpectedExitReason = 4,
}

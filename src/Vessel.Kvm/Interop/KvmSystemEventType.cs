namespace Vessel.Kvm.Interop;

/// <summary>kvm_run.system_event.type values (KVM_SYSTEM_EVENT_*).</summary>
internal enum KvmSystemEventType : uint
{
    Shutdown = 1,
    Reset = 2,
    Crash = 3,
    Wakeup = 4,
    Suspend = 5,
    SevTerm = 6,
}

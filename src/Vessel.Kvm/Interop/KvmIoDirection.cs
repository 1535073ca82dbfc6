namespace Vessel.Kvm.Interop;

/// <summary>kvm_run.io.direction (KVM_EXIT_IO_IN / KVM_EXIT_IO_OUT).</summary>
internal enum KvmIoDirection : byte
{
    In = 0,
    Out = 1,
}

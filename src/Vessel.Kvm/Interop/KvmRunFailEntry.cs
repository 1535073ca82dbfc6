using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>kvm_run.fail_entry (KVM_EXIT_FAIL_ENTRY): VM entry failed; the reason is VMX's or SVM's own code.</summary>
[StructLayout(LayoutKind.Sequential, Size = 16)]
internal struct KvmRunFailEntry
{
    public ulong HardwareEntryFailureReason;
    public uint Cpu;
}

using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>kvm_run.hw (KVM_EXIT_UNKNOWN): the hardware's own exit reason, which KVM did not handle.</summary>
[StructLayout(LayoutKind.Sequential, Size = 8)]
internal struct KvmRunHardware
{
    public ulong HardwareExitReason;
}

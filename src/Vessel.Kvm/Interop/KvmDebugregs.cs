using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>struct kvm_debugregs (KVM_GET_DEBUGREGS / KVM_SET_DEBUGREGS): DR0-DR3, DR6, DR7.</summary>
[StructLayout(LayoutKind.Sequential, Size = 128)]
internal unsafe struct KvmDebugregs
{
    public fixed ulong Db[4];
    public ulong Dr6;
    public ulong Dr7;
    public ulong Flags;
    public fixed ulong Reserved[9];
}

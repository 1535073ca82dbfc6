using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>struct kvm_pit_config (KVM_CREATE_PIT2).</summary>
[StructLayout(LayoutKind.Sequential, Size = 64)]
internal unsafe struct KvmPitConfig
{
    public uint Flags;
    public fixed uint Pad[15];
}

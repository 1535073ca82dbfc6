using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>struct kvm_pit_state2 (KVM_GET_PIT2 / KVM_SET_PIT2): the three counters and flags.</summary>
[StructLayout(LayoutKind.Sequential, Size = 112)]
internal unsafe struct KvmPitState2
{
    public KvmPitChannelState Channel0;
    public KvmPitChannelState Channel1;
    public KvmPitChannelState Channel2;
    public uint Flags;
    public fixed uint Reserved[9];
}

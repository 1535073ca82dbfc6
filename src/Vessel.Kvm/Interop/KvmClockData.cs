using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>struct kvm_clock_data (KVM_GET_CLOCK / KVM_SET_CLOCK): the kvmclock value in nanoseconds.</summary>
[StructLayout(LayoutKind.Sequential, Size = 48)]
internal unsafe struct KvmClockData
{
    public ulong Clock;
    public uint Flags;
    public uint Pad0;
    public ulong Realtime;
    public ulong HostTsc;
    public fixed uint Pad[4];
}

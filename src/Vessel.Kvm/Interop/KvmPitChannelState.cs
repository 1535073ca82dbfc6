using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>struct kvm_pit_channel_state: one 8254 counter of the in-kernel PIT.</summary>
[StructLayout(LayoutKind.Sequential, Size = 24)]
internal struct KvmPitChannelState
{
    /// <summary>The initial count; 0 stands for 0x10000.</summary>
    public uint Count;
    public ushort LatchedCount;
    public byte CountLatched;
    public byte StatusLatched;
    public byte Status;
    public byte ReadState;
    public byte WriteState;
    public byte WriteLatch;
    public byte RwMode;
    public byte Mode;
    public byte Bcd;
    public byte Gate;

    /// <summary>When the count was loaded: the kernel's ktime (CLOCK_MONOTONIC nanoseconds).</summary>
    public long CountLoadTime;
}

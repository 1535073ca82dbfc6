using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>kvm_run.mmio (KVM_EXIT_MMIO): a guest-physical access outside every memory slot.</summary>
[StructLayout(LayoutKind.Sequential, Size = 24)]
internal struct KvmRunMmio
{
    public ulong PhysAddr;

    /// <summary>u8 data[8]: the bytes written, or where the bytes read go. Held as one 8-byte word so it can be viewed as a span without pinning.</summary>
    public ulong Data;
    public uint Len;
    public byte IsWrite;
}

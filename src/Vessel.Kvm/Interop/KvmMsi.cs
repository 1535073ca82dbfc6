using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>struct kvm_msi (KVM_SIGNAL_MSI): one message-signalled interrupt.</summary>
[StructLayout(LayoutKind.Sequential, Size = 32)]
internal unsafe struct KvmMsi
{
    public uint AddressLo;
    public uint AddressHi;
    public uint Data;
    public uint Flags;
    public uint Devid;
    public fixed byte Pad[12];
}

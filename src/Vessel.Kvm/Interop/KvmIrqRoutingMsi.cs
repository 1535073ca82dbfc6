using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>struct kvm_irq_routing_msi: a GSI that sends one MSI message.</summary>
[StructLayout(LayoutKind.Sequential, Size = 16)]
internal struct KvmIrqRoutingMsi
{
    public uint AddressLo;
    public uint AddressHi;
    public uint Data;
    public uint Devid;
}

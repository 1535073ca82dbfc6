using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>struct kvm_irq_routing (KVM_SET_GSI_ROUTING): the header before nr <see cref="KvmIrqRoutingEntry"/> entries.</summary>
[StructLayout(LayoutKind.Sequential, Size = 8)]
internal struct KvmIrqRouting
{
    public uint Nr;
    public uint Flags;
}

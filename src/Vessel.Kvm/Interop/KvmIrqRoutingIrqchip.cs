using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>struct kvm_irq_routing_irqchip: a GSI wired to a pin of the in-kernel PIC or IOAPIC.</summary>
[StructLayout(LayoutKind.Sequential, Size = 8)]
internal struct KvmIrqRoutingIrqchip
{
    /// <summary>KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE or KVM_IRQCHIP_IOAPIC.</summary>
    public uint Irqchip;
    public uint Pin;
}

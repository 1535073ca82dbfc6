using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>struct kvm_irq_routing_entry: one GSI's target; the union u holds an irqchip pin or an MSI by <see cref="Type"/>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 48)]
internal struct KvmIrqRoutingEntry
{
    /// <summary>KVM_IRQ_ROUTING_IRQCHIP.</summary>
    public const uint TypeIrqchip = 1;

    /// <summary>KVM_IRQ_ROUTING_MSI.</summary>
    public const uint TypeMsi = 2;

    [FieldOffset(0)]
    public uint Gsi;

    [FieldOffset(4)]
    public uint Type;

    [FieldOffset(8)]
    public uint Flags;

    [FieldOffset(12)]
    public uint Pad;

    [FieldOffset(16)]
    public KvmIrqRoutingIrqchip Irqchip;

    [FieldOffset(16)]
    public KvmIrqRoutingMsi Msi;
}

using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>
/// struct kvm_irqchip (KVM_GET_IRQCHIP / KVM_SET_IRQCHIP): which chip, then its state in a 512-byte union of
/// <see cref="KvmPicState"/> and <see cref="KvmIoapicState"/>.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 520)]
internal struct KvmIrqchip
{
    [FieldOffset(0)] public uint ChipId;
    [FieldOffset(4)] public uint Pad;
    [FieldOffset(8)] public KvmPicState Pic;
    [FieldOffset(8)] public KvmIoapicState Ioapic;
}

using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>struct kvm_irq_level (KVM_IRQ_LINE): a GSI and its new level. The first word is a union of irq (in) and status (out).</summary>
[StructLayout(LayoutKind.Sequential, Size = 8)]
internal struct KvmIrqLevel
{
    public uint Irq;
    public uint Level;
}

using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>struct kvm_ioapic_state (arch/x86/include/uapi/asm/kvm.h): the in-kernel IOAPIC inside kvm_irqchip.</summary>
[StructLayout(LayoutKind.Sequential, Size = 216)]
internal unsafe struct KvmIoapicState
{
    public ulong BaseAddress;
    public uint Ioregsel;
    public uint Id;

    /// <summary>Input pins asserted.</summary>
    public uint Irr;
    public uint Pad;

    /// <summary>redirtbl[KVM_IOAPIC_NUM_PINS]: each entry's bits as a u64.</summary>
    public fixed ulong Redirtbl[KvmConstants.IoapicPins];
}

using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>struct kvm_pic_state (arch/x86/include/uapi/asm/kvm.h): one 8259A inside kvm_irqchip.</summary>
[StructLayout(LayoutKind.Sequential, Size = 16)]
internal struct KvmPicState
{
    /// <summary>Edge detection: the input levels last seen.</summary>
    public byte LastIrr;
    public byte Irr;
    public byte Imr;
    public byte Isr;
    public byte PriorityAdd;
    public byte IrqBase;
    public byte ReadRegSelect;
    public byte Poll;
    public byte SpecialMask;
    public byte InitState;
    public byte AutoEoi;
    public byte RotateOnAutoEoi;
    public byte SpecialFullyNestedMode;

    /// <summary>True when the initialization sequence has an ICW4.</summary>
    public byte Init4;

    /// <summary>ELCR: the pins that are level-triggered.</summary>
    public byte Elcr;
    public byte ElcrMask;
}

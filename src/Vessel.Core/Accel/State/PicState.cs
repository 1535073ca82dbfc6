namespace Vessel.Core.Accel.State;

/// <summary>The cascaded 8259A pair (KVM's two kvm_pic_state).</summary>
public sealed class PicState
{
    public PicChipState Master { get; set; } = new();

    public PicChipState Slave { get; set; } = new();
}

/// <summary>
/// One 8259A (Intel 8259A datasheet), in the fields KVM's kvm_pic_state and QEMU's PICCommonState share: the three
/// registers, the initialization sequence, the OCW modes, and the ELCR that decides edge or level per pin.
/// </summary>
public sealed record PicChipState
{
    /// <summary>The input levels last seen (edge detection).</summary>
    public byte LastLevels { get; init; }

    public byte InterruptRequest { get; init; }

    public byte InterruptMask { get; init; }

    public byte InService { get; init; }

    /// <summary>Rotation: the pin with the lowest priority is PriorityAdd - 1.</summary>
    public byte PriorityAdd { get; init; }

    /// <summary>ICW2's vector base (bits 7:3).</summary>
    public byte VectorBase { get; init; }

    /// <summary>OCW3 RR/RIS: reads of the command port return ISR rather than IRR.</summary>
    public bool ReadInService { get; init; }

    public bool Poll { get; init; }

    public bool SpecialMask { get; init; }

    /// <summary>0 when initialized; 1, 2, 3 while ICW2, ICW3, ICW4 are expected.</summary>
    public byte InitState { get; init; }

    public bool AutoEoi { get; init; }

    public bool RotateOnAutoEoi { get; init; }

    public bool SpecialFullyNested { get; init; }

    /// <summary>ICW1.IC4: the initialization sequence ends with ICW4.</summary>
    public bool NeedsIcw4 { get; init; }

    /// <summary>ICW1.SNGL (no ICW3); KVM does not model it and reads it as false.</summary>
    public bool SingleMode { get; init; }

    /// <summary>ELCR: a 1 makes the pin level-triggered.</summary>
    public byte EdgeLevelControl { get; init; }
}

namespace Vessel.Core.Accel.State;

/// <summary>The IOAPIC (82093AA datasheet; KVM's kvm_ioapic_state): ID, IOREGSEL, the input levels and 24 redirection entries.</summary>
public sealed class IoApicState
{
    public const int PinCount = 24;

    public uint Id { get; set; }

    /// <summary>IOREGSEL: the register the window reads next.</summary>
    public uint RegisterSelect { get; set; }

    /// <summary>Bit n set while input pin n is asserted (KVM's irr).</summary>
    public uint LineLevels { get; set; }

    /// <summary>The redirection table, remote IRR and delivery status included.</summary>
    public ulong[] RedirectionTable { get; set; } = new ulong[PinCount];
}

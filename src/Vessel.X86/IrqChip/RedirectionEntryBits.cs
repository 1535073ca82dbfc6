namespace Vessel.X86.IrqChip;

/// <summary>Fields of an IOAPIC redirection table entry (82093AA datasheet §3.2.4).</summary>
public static class RedirectionEntryBits
{
    public const ulong VectorMask = 0xFF;
    public const int DeliveryModeShift = 8;
    public const ulong DeliveryModeMask = 0x7UL << DeliveryModeShift;

    /// <summary>DESTMOD: logical destination.</summary>
    public const ulong LogicalDestination = 1UL << 11;

    /// <summary>DELIVS: delivery status (read-only).</summary>
    public const ulong DeliveryStatus = 1UL << 12;

    /// <summary>INTPOL: active low.</summary>
    public const ulong ActiveLow = 1UL << 13;

    /// <summary>Remote IRR: a level-triggered interrupt is in service until its EOI (read-only).</summary>
    public const ulong RemoteIrr = 1UL << 14;

    /// <summary>Trigger mode: level.</summary>
    public const ulong LevelTriggered = 1UL << 15;

    public const ulong Masked = 1UL << 16;

    public const int DestinationShift = 56;

    /// <summary>Bits software cannot write.</summary>
    public const ulong ReadOnly = DeliveryStatus | RemoteIrr;
}

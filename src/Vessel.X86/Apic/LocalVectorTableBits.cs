namespace Vessel.X86.Apic;

/// <summary>Fields of LVT entries and the ICR (Intel SDM 3A Figures 11-8 and 11-12).</summary>
public static class LocalVectorTableBits
{
    public const uint VectorMask = 0xFF;
    public const int DeliveryModeShift = 8;
    public const uint DeliveryModeMask = 0x7u << DeliveryModeShift;

    /// <summary>ICR bit 11: logical destination mode.</summary>
    public const uint LogicalDestination = 1u << 11;

    /// <summary>Bit 12: delivery status (send pending); always 0 here since delivery is immediate.</summary>
    public const uint DeliveryStatus = 1u << 12;

    /// <summary>Bit 13: input pin polarity (LINT0/LINT1).</summary>
    public const uint InputPolarity = 1u << 13;

    /// <summary>Bit 14: remote IRR (LINT0/LINT1), or level assert (ICR).</summary>
    public const uint RemoteIrrOrLevel = 1u << 14;

    /// <summary>Bit 15: level-triggered.</summary>
    public const uint LevelTriggered = 1u << 15;

    /// <summary>Bit 16: masked.</summary>
    public const uint Masked = 1u << 16;

    public const int TimerModeShift = 17;
    public const uint TimerModeMask = 0x3u << TimerModeShift;

    public const int ShorthandShift = 18;
    public const uint ShorthandMask = 0x3u << ShorthandShift;

    public static ApicDeliveryMode DeliveryMode(uint entry) => (ApicDeliveryMode)((entry & DeliveryModeMask) >> DeliveryModeShift);
}

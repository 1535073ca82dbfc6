namespace Vessel.Devices.Clock;

/// <summary>Bits of the MC146818 status registers A-D.</summary>
public static class RtcStatus
{
    /// <summary>A: update in progress.</summary>
    public const byte UpdateInProgress = 0x80;

    /// <summary>A: the divider bits that run the clock from a 32.768 kHz crystal (010).</summary>
    public const byte DividerNormal = 0x20;

    public const byte DividerMask = 0x70;
    public const byte RateMask = 0x0F;

    /// <summary>B: SET, halt updates so software can set the time.</summary>
    public const byte Set = 0x80;

    /// <summary>B: periodic interrupt enable.</summary>
    public const byte PeriodicEnable = 0x40;

    /// <summary>B: alarm interrupt enable.</summary>
    public const byte AlarmEnable = 0x20;

    /// <summary>B: update-ended interrupt enable.</summary>
    public const byte UpdateEndedEnable = 0x10;

    /// <summary>B: data mode binary (1) or BCD (0).</summary>
    public const byte BinaryMode = 0x04;

    /// <summary>B: 24-hour mode.</summary>
    public const byte TwentyFourHour = 0x02;

    /// <summary>C: an enabled flag is set and IRQ 8 is asserted.</summary>
    public const byte InterruptRequest = 0x80;

    public const byte PeriodicFlag = 0x40;
    public const byte AlarmFlag = 0x20;
    public const byte UpdateEndedFlag = 0x10;

    /// <summary>D: valid RAM and time.</summary>
    public const byte ValidRamAndTime = 0x80;

    /// <summary>Alarm bytes of 0xC0-0xFF match any value ("don't care").</summary>
    public const byte AlarmDontCare = 0xC0;
}

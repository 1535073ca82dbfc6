namespace Vessel.Devices.Power;

/// <summary>PM1 Status and PM1 Enable register bits (ACPI 6.5 §4.8.4.1, Tables 4.11 and 4.12; the enable bits share positions).</summary>
[Flags]
public enum PowerManagementStatus : ushort
{
    None = 0,

    /// <summary>TMR_STS / TMR_EN: the PM timer's top bit changed (no PM timer here; never set).</summary>
    Timer = 1 << 0,

    /// <summary>GBL_STS / GBL_EN: the BIOS released the global lock.</summary>
    Global = 1 << 5,

    /// <summary>PWRBTN_STS / PWRBTN_EN: the fixed power button was pressed.</summary>
    PowerButton = 1 << 8,

    /// <summary>SLPBTN_STS / SLPBTN_EN.</summary>
    SleepButton = 1 << 9,

    /// <summary>RTC_STS / RTC_EN.</summary>
    RealTimeClock = 1 << 10,

    /// <summary>WAK_STS: the machine woke from a sleep state (status only).</summary>
    Wake = 1 << 15,

    /// <summary>The bits that can raise the SCI when enabled.</summary>
    EventsWithEnable = Timer | Global | PowerButton | SleepButton | RealTimeClock,
}

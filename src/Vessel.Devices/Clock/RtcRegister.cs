namespace Vessel.Devices.Clock;

/// <summary>MC146818 register indices and the PC CMOS layout used by BIOSes and QEMU (hw/rtc/mc146818rtc.c).</summary>
public static class RtcRegister
{
    public const int Seconds = 0x00;
    public const int SecondsAlarm = 0x01;
    public const int Minutes = 0x02;
    public const int MinutesAlarm = 0x03;
    public const int Hours = 0x04;
    public const int HoursAlarm = 0x05;
    public const int DayOfWeek = 0x06;
    public const int DayOfMonth = 0x07;
    public const int Month = 0x08;
    public const int Year = 0x09;

    /// <summary>Register A: UIP (bit 7), divider (6:4), periodic rate select (3:0).</summary>
    public const int StatusA = 0x0A;

    /// <summary>Register B: SET, PIE, AIE, UIE, SQWE, DM (binary), 24/12, DSE.</summary>
    public const int StatusB = 0x0B;

    /// <summary>Register C: IRQF, PF, AF, UF; reading clears it.</summary>
    public const int StatusC = 0x0C;

    /// <summary>Register D: VRT (valid RAM and time).</summary>
    public const int StatusD = 0x0D;

    /// <summary>Base memory in KiB (640), little-endian.</summary>
    public const int BaseMemoryLow = 0x15;

    /// <summary>Extended memory above 1 MiB in KiB (at most 0xFFFF), little-endian; mirrored at 0x30.</summary>
    public const int ExtendedMemoryLow = 0x17;

    public const int ExtendedMemoryLowMirror = 0x30;

    /// <summary>The century, BCD or binary as register B says.</summary>
    public const int Century = 0x32;

    /// <summary>Memory between 16 MiB and the PCI hole in 64 KiB units, little-endian.</summary>
    public const int MemoryAbove16MiBLow = 0x34;

    /// <summary>Memory above 4 GiB in 64 KiB units, three bytes little-endian (QEMU's 0x5B-0x5D).</summary>
    public const int MemoryAbove4GiBLow = 0x5B;
}

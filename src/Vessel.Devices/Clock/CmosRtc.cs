using Vessel.Core.Bus;
using Vessel.Core.Interrupts;
using Vessel.Core.Snapshots;

namespace Vessel.Devices.Clock;

/// <summary>
/// The PC's CMOS RAM and MC146818 real-time clock at ports 0x70 (index, bit 7 masks NMI) and 0x71 (data), on IRQ 8.
/// The time is the host's UTC plus whatever offset the guest sets. Flags are computed when read or when a host timer
/// fires for the next enabled event, so nothing ticks while no interrupt is enabled: periodic (rate from register A),
/// update-ended (each second), alarm. UIP reads set during the last 244 µs of each second, as on the chip.
/// </summary>
public sealed class CmosRtc : IBusDevice, IStateful, IDisposable
{
    public const ushort IndexPort = 0x70;
    public const ushort DataPort = 0x71;
    public const int PortCount = 2;
    public const int Irq = 8;

    private const int CmosSize = 128;
    private const long TicksPerSecond = TimeSpan.TicksPerSecond;

    /// <summary>MC146818 datasheet: UIP rises 244 µs before the update.</summary>
    private const long UpdateInProgressTicks = 2440;

    private readonly Lock sync = new();
    private readonly byte[] cmos = new byte[CmosSize];
    private readonly IInterruptLine irq;
    private readonly TimeProvider time;
    private long startTimestamp;
    private long startUtcTicks;
    private readonly ITimer timer;
    private long offsetTicks;
    private long lastCheckTicks;
    private int index;
    private bool lineAsserted;

    /// <param name="ramBelow4GiB">Guest RAM below the PCI hole, for the memory-size bytes.</param>
    /// <param name="ramAbove4GiB">Guest RAM at 4 GiB and above.</param>
    public CmosRtc(IInterruptLine irq, ulong ramBelow4GiB, ulong ramAbove4GiB, TimeProvider? time = null)
    {
        this.irq = irq;
        this.time = time ?? TimeProvider.System;
        startTimestamp = this.time.GetTimestamp();
        startUtcTicks = this.time.GetUtcNow().UtcTicks;
        timer = this.time.CreateTimer(static state => ((CmosRtc)state!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        cmos[RtcRegister.StatusA] = RtcStatus.DividerNormal | 0x06;
        cmos[RtcRegister.StatusB] = RtcStatus.TwentyFourHour;
        cmos[RtcRegister.StatusD] = RtcStatus.ValidRamAndTime;
        WriteMemorySizes(ramBelow4GiB, ramAbove4GiB);
        lastCheckTicks = GuestTicks();
    }

    /// <summary>The guest's wall-clock time now.</summary>
    public DateTime GuestTime
    {
        get
        {
            lock (sync)
            {
                return new DateTime(GuestTicks(), DateTimeKind.Utc);
            }
        }
    }

    /// <summary>Whether port 0x70 bit 7 asks for NMIs to be masked (there is no NMI source to mask yet).</summary>
    public bool NonMaskableInterruptDisabled { get; private set; }

    public void Read(ulong offset, Span<byte> data)
    {
        lock (sync)
        {
            for (int i = 0; i < data.Length; i++)
            {
                // The index port is write-only; QEMU reads it as 0xFF.
                data[i] = offset + (ulong)i == 1 ? ReadData() : (byte)0xFF;
            }
        }
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        lock (sync)
        {
            for (int i = 0; i < data.Length; i++)
            {
                if (offset + (ulong)i == 0)
                {
                    index = data[i] & 0x7F;
                    NonMaskableInterruptDisabled = (data[i] & 0x80) != 0;
                }
                else
                {
                    WriteData(data[i]);
                }
            }
        }
    }

    public int StateVersion => 1;

    /// <summary>
    /// The CMOS bytes, the index latch, the line level, and the guest's own adjustment of the clock (what it set with the
    /// SET bit, relative to the host's wall clock), never the wall-clock time itself.
    /// </summary>
    public void SaveState(StateWriter writer)
    {
        lock (sync)
        {
            writer.WriteRaw(cmos);
            writer.WriteByte((byte)index);
            writer.WriteBool(NonMaskableInterruptDisabled);
            writer.WriteBool(lineAsserted);
            writer.WriteInt64(offsetTicks);
            writer.WriteInt64(lastCheckTicks - GuestTicks());
        }
    }

    /// <remarks>
    /// The clock restarts from the host's wall clock as the (already restored) time provider reports it, plus the guest's
    /// adjustment: a guest restored a day later reads the right date, as kvmclock's and Firecracker's clock_realtime
    /// corrections give. The line level is restored as a fact, not driven: the interrupt controllers hold it.
    /// </remarks>
    public void RestoreState(StateReader reader, int version)
    {
        lock (sync)
        {
            reader.ReadRaw(CmosSize).CopyTo(cmos);
            byte latched = reader.ReadByte();
            if (latched >= CmosSize)
            {
                throw reader.Malformed($"the CMOS index is {latched}, past its {CmosSize} bytes");
            }

            index = latched;
            NonMaskableInterruptDisabled = reader.ReadBool();
            lineAsserted = reader.ReadBool();
            offsetTicks = reader.ReadInt64();
            long sinceLastCheck = reader.ReadInt64();
            startTimestamp = time.GetTimestamp();
            startUtcTicks = time.GetUtcNow().UtcTicks;

            // The guest's date must stay a date (years 1 to 9998) for as long as it may run.
            if (sinceLastCheck > 0 || offsetTicks < -startUtcTicks || offsetTicks > DateTime.MaxValue.Ticks - startUtcTicks - (TimeSpan.TicksPerDay * 366))
            {
                throw reader.Malformed("the clock's offsets are out of range");
            }

            lastCheckTicks = GuestTicks() + sinceLastCheck;
            ScheduleTimer();
        }
    }

    public void Dispose() => timer.Dispose();

    private long GuestTicks() => startUtcTicks + (long)time.GetElapsedTime(startTimestamp).Ticks + offsetTicks;

    private bool Halted => (cmos[RtcRegister.StatusB] & RtcStatus.Set) != 0;

    private byte ReadData()
    {
        switch (index)
        {
            case RtcRegister.StatusA:
                {
                    long ticks = GuestTicks();
                    bool updating = !Halted && TicksPerSecond - (ticks % TicksPerSecond) <= UpdateInProgressTicks;
                    return (byte)((cmos[RtcRegister.StatusA] & ~RtcStatus.UpdateInProgress) | (updating ? RtcStatus.UpdateInProgress : 0));
                }

            case RtcRegister.StatusC:
                {
                    UpdateFlags();
                    byte value = cmos[RtcRegister.StatusC];
                    cmos[RtcRegister.StatusC] = 0;
                    SetLine(false);
                    ScheduleTimer();
                    return value;
                }

            case RtcRegister.StatusD:
                return RtcStatus.ValidRamAndTime;
        }

        if (IsClockRegister(index) && !Halted)
        {
            return ClockField(index, new DateTime(GuestTicks(), DateTimeKind.Utc));
        }

        return cmos[index];
    }

    private void WriteData(byte value)
    {
        switch (index)
        {
            case RtcRegister.StatusA:
                cmos[RtcRegister.StatusA] = (byte)(value & ~RtcStatus.UpdateInProgress);
                UpdateFlags();
                ScheduleTimer();
                return;
            case RtcRegister.StatusB:
                {
                    bool wasHalted = Halted;
                    if ((value & RtcStatus.Set) != 0 && !wasHalted)
                    {
                        // Entering SET: freeze the registers at the current time so software edits them from there.
                        SnapshotClock();
                        value &= unchecked((byte)~RtcStatus.UpdateEndedEnable);
                    }

                    UpdateFlags();
                    cmos[RtcRegister.StatusB] = value;
                    if (wasHalted && !Halted)
                    {
                        CommitClock();
                    }

                    UpdateInterruptLine();
                    ScheduleTimer();
                    return;
                }

            case RtcRegister.StatusC:
            case RtcRegister.StatusD:
                return;
        }

        if (IsClockRegister(index) && !Halted)
        {
            // QEMU applies a time written while the clock runs at once.
            SnapshotClock();
            cmos[index] = value;
            CommitClock();
            return;
        }

        cmos[index] = value;
    }

    private static bool IsClockRegister(int register) =>
        register is RtcRegister.Seconds or RtcRegister.Minutes or RtcRegister.Hours or RtcRegister.DayOfWeek
            or RtcRegister.DayOfMonth or RtcRegister.Month or RtcRegister.Year or RtcRegister.Century;

    private byte ClockField(int register, DateTime now) => register switch
    {
        RtcRegister.Seconds => Encode(now.Second),
        RtcRegister.Minutes => Encode(now.Minute),
        RtcRegister.Hours => EncodeHour(now.Hour),
        RtcRegister.DayOfWeek => Encode((int)now.DayOfWeek + 1),
        RtcRegister.DayOfMonth => Encode(now.Day),
        RtcRegister.Month => Encode(now.Month),
        RtcRegister.Year => Encode(now.Year % 100),
        _ => Encode(now.Year / 100),
    };

    private bool BinaryMode => (cmos[RtcRegister.StatusB] & RtcStatus.BinaryMode) != 0;

    private byte Encode(int value) => BinaryMode ? (byte)value : (byte)(((value / 10) << 4) | (value % 10));

    private int Decode(byte value) => BinaryMode ? value : ((value >> 4) * 10) + (value & 0xF);

    /// <summary>Hours in 12-hour mode: 1-12 with bit 7 for PM (datasheet Table 3).</summary>
    private byte EncodeHour(int hour)
    {
        if ((cmos[RtcRegister.StatusB] & RtcStatus.TwentyFourHour) != 0)
        {
            return Encode(hour);
        }

        int twelve = hour % 12 == 0 ? 12 : hour % 12;
        return (byte)(Encode(twelve) | (hour >= 12 ? 0x80 : 0));
    }

    private int DecodeHour(byte value)
    {
        if ((cmos[RtcRegister.StatusB] & RtcStatus.TwentyFourHour) != 0)
        {
            return Decode(value);
        }

        int twelve = Decode((byte)(value & 0x7F)) % 12;
        return (value & 0x80) != 0 ? twelve + 12 : twelve;
    }

    private void SnapshotClock()
    {
        var now = new DateTime(GuestTicks(), DateTimeKind.Utc);
        foreach (int register in (ReadOnlySpan<int>)[RtcRegister.Seconds, RtcRegister.Minutes, RtcRegister.Hours, RtcRegister.DayOfWeek,
            RtcRegister.DayOfMonth, RtcRegister.Month, RtcRegister.Year, RtcRegister.Century])
        {
            cmos[register] = ClockField(register, now);
        }
    }

    /// <summary>Turns the time registers into the guest clock's offset; a date that does not exist is ignored.</summary>
    private void CommitClock()
    {
        int year = (Decode(cmos[RtcRegister.Century]) * 100) + Decode(cmos[RtcRegister.Year]);
        int month = Decode(cmos[RtcRegister.Month]);
        int day = Decode(cmos[RtcRegister.DayOfMonth]);
        int hour = DecodeHour(cmos[RtcRegister.Hours]);
        int minute = Decode(cmos[RtcRegister.Minutes]);
        int second = Decode(cmos[RtcRegister.Seconds]);
        if (year is < 1 or > 9999 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month)
            || hour is < 0 or > 23 || minute is < 0 or > 59 || second is < 0 or > 59)
        {
            return;
        }

        long wanted = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc).Ticks;
        long current = GuestTicks();
        offsetTicks += wanted - (current - (current % TicksPerSecond));
        lastCheckTicks = GuestTicks();
    }

    /// <summary>The periodic interrupt period in 100 ns ticks, or 0 when the rate select or divider stops it.</summary>
    private long PeriodicTicks()
    {
        int rate = cmos[RtcRegister.StatusA] & RtcStatus.RateMask;
        if (rate == 0 || (cmos[RtcRegister.StatusA] & RtcStatus.DividerMask) != RtcStatus.DividerNormal)
        {
            return 0;
        }

        // Rates 1 and 2 give the same periods as 8 and 9 with a 32.768 kHz time base (QEMU's periodic_period_to_clock).
        if (rate <= 2)
        {
            rate += 7;
        }

        return (TicksPerSecond << (rate - 1)) / 32768;
    }

    /// <summary>Sets PF, UF and AF for the events since the last check, and IRQF when an enabled one is set.</summary>
    private void UpdateFlags()
    {
        long now = GuestTicks();
        long last = lastCheckTicks;
        lastCheckTicks = now;
        if (now <= last)
        {
            return;
        }

        byte flags = 0;
        long period = PeriodicTicks();
        if (period > 0 && now / period != last / period)
        {
            flags |= RtcStatus.PeriodicFlag;
        }

        if (!Halted && now / TicksPerSecond != last / TicksPerSecond)
        {
            flags |= RtcStatus.UpdateEndedFlag;
            if (AlarmMatches(new DateTime(now, DateTimeKind.Utc)))
            {
                flags |= RtcStatus.AlarmFlag;
            }
        }

        cmos[RtcRegister.StatusC] |= flags;
        UpdateInterruptLine();
    }

    private bool AlarmMatches(DateTime now)
    {
        static bool Matches(byte alarm, byte current) => (alarm & RtcStatus.AlarmDontCare) == RtcStatus.AlarmDontCare || alarm == current;
        return Matches(cmos[RtcRegister.SecondsAlarm], ClockField(RtcRegister.Seconds, now))
            && Matches(cmos[RtcRegister.MinutesAlarm], ClockField(RtcRegister.Minutes, now))
            && Matches(cmos[RtcRegister.HoursAlarm], ClockField(RtcRegister.Hours, now));
    }

    private void UpdateInterruptLine()
    {
        byte enabled = (byte)(cmos[RtcRegister.StatusB] & (RtcStatus.PeriodicEnable | RtcStatus.AlarmEnable | RtcStatus.UpdateEndedEnable));
        byte flags = cmos[RtcRegister.StatusC];
        if ((flags & enabled) != 0 && (flags & RtcStatus.InterruptRequest) == 0)
        {
            cmos[RtcRegister.StatusC] |= RtcStatus.InterruptRequest;
            SetLine(true);
        }
    }

    private void SetLine(bool asserted)
    {
        if (lineAsserted != asserted)
        {
            lineAsserted = asserted;
            irq.SetLevel(asserted);
        }
    }

    /// <summary>Arms the host timer for the next enabled event; none while IRQF waits for register C to be read.</summary>
    private void ScheduleTimer()
    {
        byte b = cmos[RtcRegister.StatusB];
        long now = GuestTicks();
        long next = long.MaxValue;
        if ((cmos[RtcRegister.StatusC] & RtcStatus.InterruptRequest) == 0)
        {
            long period = PeriodicTicks();
            if ((b & RtcStatus.PeriodicEnable) != 0 && period > 0)
            {
                next = Math.Min(next, ((now / period) + 1) * period);
            }

            if ((b & (RtcStatus.UpdateEndedEnable | RtcStatus.AlarmEnable)) != 0 && !Halted)
            {
                next = Math.Min(next, ((now / TicksPerSecond) + 1) * TicksPerSecond);
            }
        }

        timer.Change(next == long.MaxValue ? Timeout.InfiniteTimeSpan : TimeSpan.FromTicks(Math.Max(1, next - now)), Timeout.InfiniteTimeSpan);
    }

    private void OnTimer()
    {
        lock (sync)
        {
            UpdateFlags();
            ScheduleTimer();
        }
    }

    private void WriteMemorySizes(ulong below4GiB, ulong above4GiB)
    {
        const ulong KiB = 1024;
        const ulong OneMiB = 1UL << 20;
        const ulong SixteenMiB = 16UL << 20;
        cmos[RtcRegister.BaseMemoryLow] = 640 & 0xFF;
        cmos[RtcRegister.BaseMemoryLow + 1] = 640 >> 8;
        ulong extended = Math.Min(below4GiB > OneMiB ? (below4GiB - OneMiB) / KiB : 0, 0xFFFF);
        cmos[RtcRegister.ExtendedMemoryLow] = (byte)extended;
        cmos[RtcRegister.ExtendedMemoryLow + 1] = (byte)(extended >> 8);
        cmos[RtcRegister.ExtendedMemoryLowMirror] = (byte)extended;
        cmos[RtcRegister.ExtendedMemoryLowMirror + 1] = (byte)(extended >> 8);
        ulong above16 = Math.Min(below4GiB > SixteenMiB ? (below4GiB - SixteenMiB) >> 16 : 0, 0xFFFF);
        cmos[RtcRegister.MemoryAbove16MiBLow] = (byte)above16;
        cmos[RtcRegister.MemoryAbove16MiBLow + 1] = (byte)(above16 >> 8);
        ulong high = above4GiB >> 16;
        cmos[RtcRegister.MemoryAbove4GiBLow] = (byte)high;
        cmos[RtcRegister.MemoryAbove4GiBLow + 1] = (byte)(high >> 8);
        cmos[RtcRegister.MemoryAbove4GiBLow + 2] = (byte)(high >> 16);
        cmos[RtcRegister.Century] = Encode(new DateTime(startUtcTicks, DateTimeKind.Utc).Year / 100);
    }
}

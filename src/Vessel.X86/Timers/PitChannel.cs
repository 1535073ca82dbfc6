using System.Diagnostics;
using Vessel.Core.Accel.State;

namespace Vessel.X86.Timers;

/// <summary>
/// One 8254 counter (Intel 82C54 datasheet), computed from the time its count was loaded rather than ticked: the count,
/// the OUT pin and the next OUT transition follow from elapsed input clocks, as in QEMU's i8254.c. Not thread-safe:
/// <see cref="Pit8254"/> serializes access.
/// </summary>
internal sealed class PitChannel
{
    private const int AccessLatch = 0;
    private const int AccessLowByte = 1;
    private const int AccessHighByte = 2;
    private const int AccessWord = 3;

    private int readState;
    private int writeState;
    private byte writeLatch;
    private int latchedCount;
    private int countLatched;
    private bool statusLatched;
    private byte status;
    private bool nullCount = true;

    public int Count { get; private set; } = 0x10000;

    public int Mode { get; private set; }

    public int Access { get; private set; } = AccessWord;

    public bool Bcd { get; private set; }

    public bool Gate { get; private set; }

    /// <summary>Input clocks (1.193182 MHz) counted from this timestamp.</summary>
    public long LoadTime { get; private set; }

    /// <summary>Whether the count was written since the last mode change (a counter not yet loaded never fires).</summary>
    public bool Loaded { get; private set; }

    public PitChannel(bool gate) => Gate = gate;

    /// <summary>The counter as data, its load time as guest nanoseconds before <paramref name="now"/>.</summary>
    public PitChannelState GetState(long now) => new()
    {
        Count = Count,
        NanosecondsSinceLoad = (long)((UInt128)(ulong)Math.Max(0, now - LoadTime) * 1_000_000_000 / (ulong)Stopwatch.Frequency),
        Mode = Mode,
        Access = Access,
        Bcd = Bcd,
        Gate = Gate,
        Loaded = Loaded,
        ReadState = readState,
        WriteState = writeState,
        WriteLatch = writeLatch,
        LatchedCount = latchedCount,
        CountLatched = countLatched,
        StatusLatched = statusLatched,
        Status = status,
        NullCount = nullCount,
    };

    /// <summary>Loads a validated <see cref="PitChannelState"/>, placing the load time that far before <paramref name="now"/>.</summary>
    public void SetState(PitChannelState state, long now)
    {
        Count = state.Count;
        LoadTime = now - (long)((UInt128)(ulong)state.NanosecondsSinceLoad * (ulong)Stopwatch.Frequency / 1_000_000_000);
        Mode = state.Mode;
        Access = state.Access;
        Bcd = state.Bcd;
        Gate = state.Gate;
        Loaded = state.Loaded;
        readState = state.ReadState;
        writeState = state.WriteState;
        writeLatch = state.WriteLatch;
        latchedCount = state.LatchedCount;
        countLatched = state.CountLatched;
        statusLatched = state.StatusLatched;
        status = state.Status;
        nullCount = state.NullCount;
    }

    /// <summary>A control word for this channel: counter latch (access 0) or a new mode and access.</summary>
    public void Control(byte value, long clocks)
    {
        int access = (value >> 4) & 3;
        if (access == AccessLatch)
        {
            LatchCount(clocks);
            return;
        }

        Access = access;
        readState = access;
        writeState = access;
        int mode = (value >> 1) & 7;

        // Modes 6 and 7 are aliases of 2 and 3 (datasheet, control word format).
        Mode = mode > 5 ? mode - 4 : mode;
        Bcd = (value & 1) != 0;
        Loaded = false;
        nullCount = true;
    }

    public void LatchCount(long clocks)
    {
        if (countLatched == 0)
        {
            latchedCount = CurrentCount(clocks);
            countLatched = Access;
        }
    }

    public void LatchStatus(long clocks)
    {
        if (!statusLatched)
        {
            // Read-back status byte: OUT, null count, access, mode, BCD.
            status = (byte)((Output(clocks) ? 0x80 : 0) | (nullCount ? 0x40 : 0) | (Access << 4) | (Mode << 1) | (Bcd ? 1 : 0));
            statusLatched = true;
        }
    }

    /// <summary>A data-port write; returns true when it completed a new count (loaded at <paramref name="now"/>).</summary>
    public bool WriteData(byte value, long now)
    {
        switch (writeState)
        {
            case AccessHighByte:
                Load(value << 8, now);
                return true;
            case AccessWord:
                writeLatch = value;
                writeState = AccessWord + 1;
                return false;
            case AccessWord + 1:
                Load(writeLatch | (value << 8), now);
                writeState = AccessWord;
                return true;
            default:
                Load(value, now);
                return true;
        }
    }

    public byte ReadData(long clocks)
    {
        if (statusLatched)
        {
            statusLatched = false;
            return status;
        }

        if (countLatched != 0)
        {
            switch (countLatched)
            {
                case AccessHighByte:
                    countLatched = 0;
                    return (byte)(latchedCount >> 8);
                case AccessWord:
                    countLatched = AccessHighByte;
                    return (byte)latchedCount;
                default:
                    countLatched = 0;
                    return (byte)latchedCount;
            }
        }

        int count = CurrentCount(clocks);
        switch (readState)
        {
            case AccessHighByte:
                return (byte)(count >> 8);
            case AccessWord:
                readState = AccessWord + 1;
                return (byte)count;
            case AccessWord + 1:
                readState = AccessWord;
                return (byte)(count >> 8);
            default:
                return (byte)count;
        }
    }

    /// <summary>Sets GATE; a rising edge restarts the count in modes 1, 2, 3 and 5 (datasheet, gate operations).</summary>
    public void SetGate(bool gate, long now)
    {
        if (!Gate && gate && Mode is 1 or 2 or 3 or 5)
        {
            LoadTime = now;
        }

        Gate = gate;
    }

    /// <summary>The counting element after <paramref name="clocks"/> input clocks since the load.</summary>
    public int CurrentCount(long clocks) => Mode switch
    {
        0 or 1 or 4 or 5 => (int)((Count - clocks) & 0xFFFF),
        3 => (int)(Count - ((2 * clocks) % Count)),
        _ => (int)(Count - (clocks % Count)),
    };

    /// <summary>The OUT pin after <paramref name="clocks"/> input clocks since the load.</summary>
    public bool Output(long clocks) => Mode switch
    {
        0 => clocks >= Count,
        1 => clocks < Count,
        2 => clocks != 0 && clocks % Count == 0,
        3 => clocks % Count < ((Count + 1) >> 1),
        _ => clocks == Count,
    };

    private void Load(int value, long now)
    {
        Count = value == 0 ? 0x10000 : value;
        LoadTime = now;
        Loaded = true;
        nullCount = false;
    }
}

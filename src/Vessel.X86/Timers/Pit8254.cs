using System.Diagnostics;
using Vessel.Core.Accel.State;

namespace Vessel.X86.Timers;

/// <summary>
/// The 8254 programmable interval timer at ports 0x40-0x43 and the port 0x61 speaker/gate bits, as KVM's in-kernel PIT
/// (i8254.c) behaves: the input clock is 1.193182 MHz taken from the VM clock (the host's monotonic clock, standing still while paused); channel 0 pulses IRQ 0
/// each time its count expires (modes 2 and 3 periodically, no faster than every 200 µs; modes 0, 1 and 4 once);
/// channel 2's gate and output are bits 0 and 5 of port 0x61, and bit 4 toggles like the DRAM refresh signal.
/// </summary>
public sealed class Pit8254 : IDisposable
{
    public const ushort Channel0Port = 0x40;
    public const ushort ControlPort = 0x43;
    public const ushort SpeakerPort = 0x61;
    public const long InputFrequencyHz = 1_193_182;

    /// <summary>KVM's min_timer_period_us for the periodic PIT.</summary>
    public static readonly long MinimumPeriodTicks = Stopwatch.Frequency / 5000;

    private readonly Lock sync = new();
    private readonly PitChannel[] channels = [new(gate: true), new(gate: true), new(gate: false)];
    private readonly Action<bool> irq0;
    private readonly Func<long> clock;
    private readonly HostTimerThread hostTimer;
    private bool speakerDataOn;
    private long nextInterrupt = long.MaxValue;
    private long periodTicks;

    /// <param name="irq0">Drives ISA IRQ 0 (GSI 0 under KVM's default routing).</param>
    /// <param name="clock">Timestamps in <see cref="Stopwatch"/>-frequency ticks (the VM clock); tests pass their own.</param>
    public Pit8254(Action<bool> irq0, Func<long>? clock = null)
    {
        this.irq0 = irq0;
        this.clock = clock ?? Stopwatch.GetTimestamp;
        hostTimer = new HostTimerThread("pit timer", OnHostTimer);
    }

    /// <summary>The next time (Stopwatch ticks) channel 0 raises IRQ 0, or long.MaxValue.</summary>
    public long NextInterrupt => Volatile.Read(ref nextInterrupt);

    public static bool ClaimsPort(ushort port) => port is >= Channel0Port and <= ControlPort or SpeakerPort;

    public byte ReadPort(ushort port)
    {
        long now = clock();
        lock (sync)
        {
            if (port == SpeakerPort)
            {
                // KVM's speaker_ioport_read: refresh toggles every 2^14 ns (about 15 µs).
                long nanoseconds = (long)((UInt128)(ulong)now * 1_000_000_000 / (ulong)Stopwatch.Frequency);
                var channel2 = channels[2];
                return (byte)((channel2.Gate ? 1 : 0) | (speakerDataOn ? 2 : 0) | (int)(((nanoseconds >> 14) & 1) << 4)
                    | (channel2.Output(Clocks(channel2, now)) ? 0x20 : 0));
            }

            if (port == ControlPort)
            {
                // The control register is write-only.
                return 0xFF;
            }

            var channel = channels[port - Channel0Port];
            return channel.ReadData(Clocks(channel, now));
        }
    }

    public void WritePort(ushort port, byte value)
    {
        long now = clock();
        lock (sync)
        {
            if (port == SpeakerPort)
            {
                channels[2].SetGate((value & 1) != 0, now);
                speakerDataOn = (value & 2) != 0;
                return;
            }

            if (port == ControlPort)
            {
                WriteControl(value, now);
                return;
            }

            int index = port - Channel0Port;
            if (channels[index].WriteData(value, now) && index == 0)
            {
                ScheduleChannel0(now);
            }
        }
    }

    /// <summary>
    /// Channel 0 as a PC BIOS leaves it: mode 2 (rate generator) with the full 65536 count, IRQ 0 at about 18.2 Hz,
    /// the tick real-mode code waiting in HLT relies on.
    /// </summary>
    public void InitializeAsFirmware()
    {
        WritePort(ControlPort, 0x34); // channel 0, low byte then high byte, mode 2, binary
        WritePort(Channel0Port, 0);
        WritePort(Channel0Port, 0);
    }

    public PitState GetState()
    {
        long now = clock();
        lock (sync)
        {
            var state = new PitState { SpeakerDataOn = speakerDataOn };
            for (int i = 0; i < channels.Length; i++)
            {
                state.Channels[i] = channels[i].GetState(now);
            }

            return state;
        }
    }

    /// <summary>
    /// Loads a validated <see cref="PitState"/> and re-arms channel 0 from its load time: a periodic mode fires at the
    /// next multiple of its period, a one-shot that had not yet expired at its deadline, one already expired not again.
    /// </summary>
    public void SetState(PitState state)
    {
        long now = clock();
        lock (sync)
        {
            speakerDataOn = state.SpeakerDataOn;
            for (int i = 0; i < channels.Length; i++)
            {
                channels[i].SetState(state.Channels[i], now);
            }

            var channel = channels[0];
            periodTicks = 0;
            nextInterrupt = long.MaxValue;
            if (channel.Loaded)
            {
                ScheduleChannel0(channel.LoadTime);
                if (periodTicks > 0)
                {
                    long elapsed = Math.Max(0, now - channel.LoadTime);
                    nextInterrupt = channel.LoadTime + (((elapsed / periodTicks) + 1) * periodTicks);
                }
                else if (nextInterrupt <= now)
                {
                    nextInterrupt = long.MaxValue;
                }
            }

            ArmHostTimer(now);
        }
    }

    /// <summary>Raises the IRQ 0 pulse if channel 0's deadline has passed; the host timer calls this, and so may tests.</summary>
    public void Poll()
    {
        long now = clock();
        bool fire = false;
        lock (sync)
        {
            if (now >= nextInterrupt)
            {
                fire = true;
                if (periodTicks > 0)
                {
                    long next = nextInterrupt + periodTicks;

                    // Ticks missed while the host was busy coalesce into this one (KVM reinjects them; we do not).
                    nextInterrupt = next > now ? next : now + periodTicks;
                }
                else
                {
                    nextInterrupt = long.MaxValue;
                }
            }

            ArmHostTimer(now);
        }

        if (fire)
        {
            irq0(true);
            irq0(false);
        }
    }

    public void Dispose() => hostTimer.Dispose();

    private static long Clocks(PitChannel channel, long now) =>
        (long)((UInt128)(ulong)Math.Max(0, now - channel.LoadTime) * InputFrequencyHz / (ulong)Stopwatch.Frequency);

    private void WriteControl(byte value, long now)
    {
        int select = value >> 6;
        if (select == 3)
        {
            // Read-back: bit 5 clear latches counts, bit 4 clear latches status, bits 3:1 pick the channels.
            for (int index = 0; index < 3; index++)
            {
                if ((value & (2 << index)) == 0)
                {
                    continue;
                }

                var channel = channels[index];
                long clocks = Clocks(channel, now);
                if ((value & 0x20) == 0)
                {
                    channel.LatchCount(clocks);
                }

                if ((value & 0x10) == 0)
                {
                    channel.LatchStatus(clocks);
                }
            }

            return;
        }

        var selected = channels[select];
        selected.Control(value, Clocks(selected, now));
        if (select == 0 && ((value >> 4) & 3) != 0)
        {
            // A new mode stops channel 0's interrupts until its count is written (datasheet: "initial count" rules).
            nextInterrupt = long.MaxValue;
            periodTicks = 0;
            ArmHostTimer(now);
        }
    }

    /// <summary>KVM's pit_load_count: modes 0, 1, 4 fire once after the count; 2 and 3 periodically; 5 not at all.</summary>
    private void ScheduleChannel0(long now)
    {
        var channel = channels[0];
        long interval = (long)((UInt128)(ulong)channel.Count * (ulong)Stopwatch.Frequency / InputFrequencyHz);
        switch (channel.Mode)
        {
            case 0 or 1 or 4:
                periodTicks = 0;
                nextInterrupt = now + interval;
                break;
            case 2 or 3:
                periodTicks = Math.Max(interval, MinimumPeriodTicks);
                nextInterrupt = now + periodTicks;
                break;
            default:
                periodTicks = 0;
                nextInterrupt = long.MaxValue;
                break;
        }

        ArmHostTimer(now);
    }

    private void ArmHostTimer(long now)
    {
        if (nextInterrupt == long.MaxValue)
        {
            hostTimer.Change(Timeout.Infinite);
            return;
        }

        long remaining = nextInterrupt - now;
        long milliseconds = remaining <= 0 ? 0 : Math.Min((remaining * 1000 / Stopwatch.Frequency) + 1, int.MaxValue - 1);
        hostTimer.Change(milliseconds);
    }

    private void OnHostTimer() => Poll();
}

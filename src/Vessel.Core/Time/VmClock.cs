using System.Diagnostics;
using Vessel.Core.Snapshots;

namespace Vessel.Core.Time;

/// <summary>
/// The guest's time: the host's monotonic clock minus the time the machine has spent paused. Every guest timer (the
/// TSC, the local APIC timer, the PIT, the CMOS RTC) reads this instead of <see cref="Stopwatch"/> or the wall clock,
/// so pausing the machine makes guest time stand still and resuming goes on from the same instant.
/// </summary>
/// <remarks>
/// Timestamps keep <see cref="Stopwatch.Frequency"/> as their unit, so code that converted Stopwatch ticks converts
/// these the same way. Reads are lock-free (two volatile loads) because the TSC is read on the vCPU's hot path; Pause
/// and Resume are rare and take a lock. The machine pauses the clock after parking its vCPUs, so no guest code observes
/// the instant of the switch.
/// </remarks>
public sealed class VmClock : TimeProvider, IStateful
{
    private const long Running = long.MinValue;

    private readonly Lock sync = new();
    private long startTimestamp;
    private DateTimeOffset startUtc;
    private long pausedTicks;
    private long frozenAt = Running;
    private long pausedSinceHost;

    public VmClock()
        : this(TimeProvider.System.GetUtcNow())
    {
    }

    /// <param name="startUtc">The wall-clock time the guest sees at this clock's creation (the host's time by default).</param>
    public VmClock(DateTimeOffset startUtc)
    {
        startTimestamp = Stopwatch.GetTimestamp();
        this.startUtc = startUtc;
    }

    public override long TimestampFrequency => Stopwatch.Frequency;

    public bool IsPaused => Volatile.Read(ref frozenAt) != Running;

    /// <summary>Guest time in <see cref="Stopwatch.Frequency"/> ticks: monotonic, and unchanged while paused.</summary>
    public override long GetTimestamp()
    {
        long frozen = Volatile.Read(ref frozenAt);
        return frozen != Running ? frozen : Stopwatch.GetTimestamp() - Volatile.Read(ref pausedTicks);
    }

    /// <summary>The guest's wall clock: the start time plus guest time elapsed, so it too stands still while paused.</summary>
    public override DateTimeOffset GetUtcNow() => startUtc + GetElapsedTime(startTimestamp);

    public int StateVersion => 1;

    /// <summary>The guest's time (with its unit), taken while paused so it is the instant the vCPUs stopped at.</summary>
    public void SaveState(StateWriter writer)
    {
        lock (sync)
        {
            if (frozenAt == Running)
            {
                throw new InvalidOperationException("The guest's clock is saved only while the machine is paused.");
            }

            writer.WriteInt64(TimestampFrequency);
            writer.WriteInt64(frozenAt);
        }
    }

    /// <summary>
    /// Makes this paused clock stand at the saved guest time, so guest time goes on from there, monotonic across the
    /// restore (the TSC, APIC timer and PIT read it), and makes its wall clock the host's now: the time the guest spent
    /// saved is wall-clock time it missed, as kvmclock's and Firecracker's clock_realtime restore treat it.
    /// </summary>
    public void RestoreState(StateReader reader, int version)
    {
        long frequency = reader.ReadInt64();
        long saved = reader.ReadInt64();
        if (frequency <= 0 || saved < 0)
        {
            throw reader.Malformed($"the guest clock reads {saved} at {frequency} Hz");
        }

        long timestamp = frequency == TimestampFrequency ? saved : (long)((Int128)saved * TimestampFrequency / frequency);
        lock (sync)
        {
            if (frozenAt == Running)
            {
                throw new InvalidOperationException("The guest's clock is restored only while the machine is paused.");
            }

            pausedSinceHost = Stopwatch.GetTimestamp();
            pausedTicks = pausedSinceHost - timestamp;
            Volatile.Write(ref frozenAt, timestamp);
            startTimestamp = timestamp;
            startUtc = TimeProvider.System.GetUtcNow();
        }
    }

    /// <summary>Stops guest time; a second Pause is a no-op.</summary>
    public void Pause()
    {
        lock (sync)
        {
            if (frozenAt != Running)
            {
                return;
            }

            pausedSinceHost = Stopwatch.GetTimestamp();
            Volatile.Write(ref frozenAt, pausedSinceHost - pausedTicks);
        }
    }

    /// <summary>Lets guest time run again from where it stopped; a Resume while running is a no-op.</summary>
    public void Resume()
    {
        lock (sync)
        {
            if (frozenAt == Running)
            {
                return;
            }

            // The offset grows first, so a reader that sees the clock running again never sees the time spent paused.
            Volatile.Write(ref pausedTicks, pausedTicks + (Stopwatch.GetTimestamp() - pausedSinceHost));
            Volatile.Write(ref frozenAt, Running);
        }
    }
}

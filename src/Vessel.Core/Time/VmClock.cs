using System.Diagnostics;

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
public sealed class VmClock : TimeProvider
{
    private const long Running = long.MinValue;

    private readonly Lock sync = new();
    private readonly long startTimestamp;
    private readonly DateTimeOffset startUtc;
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

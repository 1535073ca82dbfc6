using System.Diagnostics;
using Vessel.Core.Time;

namespace Vessel.Core.Tests.Time;

public sealed class VmClockTests
{
    [Fact]
    public void A_running_clock_advances_with_the_host()
    {
        var clock = new VmClock();
        long first = clock.GetTimestamp();

        SpinWait.SpinUntil(() => clock.GetTimestamp() > first, TimeSpan.FromSeconds(10));

        Assert.True(clock.GetTimestamp() > first);
        Assert.Equal(Stopwatch.Frequency, clock.TimestampFrequency);
    }

    [Fact]
    public void A_paused_clock_stands_still_in_ticks_and_wall_time()
    {
        var clock = new VmClock(new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero));
        clock.Pause();
        long frozen = clock.GetTimestamp();
        var frozenUtc = clock.GetUtcNow();

        // Let host time pass for certain: the host's clock must move while the guest's does not.
        long hostBefore = Stopwatch.GetTimestamp();
        SpinWait.SpinUntil(() => Stopwatch.GetElapsedTime(hostBefore) > TimeSpan.FromMilliseconds(20), TimeSpan.FromSeconds(10));

        Assert.True(clock.IsPaused);
        Assert.Equal(frozen, clock.GetTimestamp());
        Assert.Equal(frozenUtc, clock.GetUtcNow());
    }

    [Fact]
    public void Resuming_goes_on_from_where_the_pause_stopped_without_counting_the_pause()
    {
        var clock = new VmClock();
        clock.Pause();
        long frozen = clock.GetTimestamp();
        long hostPauseStart = Stopwatch.GetTimestamp();
        SpinWait.SpinUntil(() => Stopwatch.GetElapsedTime(hostPauseStart) > TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(10));

        long hostBeforeResume = Stopwatch.GetTimestamp();
        clock.Resume();
        long resumed = clock.GetTimestamp();
        long hostAfterRead = Stopwatch.GetTimestamp();

        // Guest time advanced only by what passed after the resume, never by the 50 ms spent paused.
        Assert.False(clock.IsPaused);
        Assert.InRange(resumed - frozen, 0, hostAfterRead - hostBeforeResume);
    }

    [Fact]
    public void Pausing_twice_and_resuming_twice_are_harmless()
    {
        var clock = new VmClock();
        clock.Pause();
        long frozen = clock.GetTimestamp();
        clock.Pause();
        Assert.Equal(frozen, clock.GetTimestamp());

        clock.Resume();
        clock.Resume();
        Assert.False(clock.IsPaused);
        Assert.True(clock.GetTimestamp() >= frozen);
    }
}

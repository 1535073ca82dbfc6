using Vessel.Core.Logging;

namespace Vessel.Core.Tests.Logging;

public class LogRateLimiterTests
{
    /// <summary>A clock the test moves by hand, so nothing here depends on how fast the host runs.</summary>
    private sealed class ManualTime : TimeProvider
    {
        public long Now { get; set; }

        public override long TimestampFrequency => 1000;

        public override long GetTimestamp() => Now;
    }

    [Fact]
    public void A_burst_goes_through_and_the_rest_is_suppressed_until_the_bucket_refills()
    {
        var time = new ManualTime();
        var limiter = new LogRateLimiter(burst: 3, refillInterval: TimeSpan.FromSeconds(10), timeProvider: time);

        int allowed = Enumerable.Range(0, 1000).Count(i => limiter.TryAcquire(out _));

        Assert.Equal(3, allowed);
        Assert.Equal(997, limiter.Suppressed);
    }

    [Fact]
    public void The_first_message_after_a_refill_reports_how_many_were_suppressed()
    {
        var time = new ManualTime();
        var limiter = new LogRateLimiter(burst: 1, refillInterval: TimeSpan.FromSeconds(10), timeProvider: time);
        Assert.True(limiter.TryAcquire(out long first));
        for (int i = 0; i < 41; i++)
        {
            Assert.False(limiter.TryAcquire(out _));
        }

        time.Now += 9_999;
        Assert.False(limiter.TryAcquire(out _));
        time.Now += 1;
        Assert.True(limiter.TryAcquire(out long heldBack));

        Assert.Equal(0, first);
        Assert.Equal(42, heldBack);
        Assert.Equal("reset ignored (42 more like it suppressed)", LogRateLimiter.Summarize("reset ignored", heldBack));
        Assert.Equal("reset ignored", LogRateLimiter.Summarize("reset ignored", 0));
    }

    [Fact]
    public void A_long_quiet_spell_refills_no_more_than_the_burst()
    {
        var time = new ManualTime();
        var limiter = new LogRateLimiter(burst: 2, refillInterval: TimeSpan.FromSeconds(1), timeProvider: time);
        time.Now += 1_000_000;

        int allowed = Enumerable.Range(0, 100).Count(i => limiter.TryAcquire(out _));

        Assert.Equal(2, allowed);
    }
}

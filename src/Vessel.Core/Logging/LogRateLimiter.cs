namespace Vessel.Core.Logging;

/// <summary>
/// A token bucket for one kind of message a guest can trigger (a device's "ignored" warning, an unclaimed port): a short
/// burst goes through, then one message per refill interval, and the first message after a quiet spell says how many
/// were held back. A guest writing in a loop therefore costs the host a few lines a minute, never its disk.
/// </summary>
/// <remarks>
/// Build the message only when <see cref="TryAcquire"/> says yes, so a suppressed message costs no allocation on the
/// guest's I/O path: <c>if (limiter.TryAcquire(out long held)) log.Warn(LogRateLimiter.Summarize(message, held));</c>.
/// </remarks>
public sealed class LogRateLimiter
{
    /// <summary>Messages let through at once before the bucket runs dry.</summary>
    public const int DefaultBurst = 5;

    /// <summary>How often a dry bucket earns one more message.</summary>
    public static readonly TimeSpan DefaultRefillInterval = TimeSpan.FromSeconds(30);

    private readonly Lock bucketLock = new();
    private readonly TimeProvider time;
    private readonly int burst;
    private readonly long refillTicks;
    private long tokens;
    private long lastRefill;
    private long suppressed;

    public LogRateLimiter(int burst = DefaultBurst, TimeSpan? refillInterval = null, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1);
        time = timeProvider ?? TimeProvider.System;
        this.burst = burst;
        tokens = burst;
        refillTicks = Math.Max(1, (long)((refillInterval ?? DefaultRefillInterval).TotalSeconds * time.TimestampFrequency));
        lastRefill = time.GetTimestamp();
    }

    /// <summary>Messages held back since the last one let through.</summary>
    public long Suppressed
    {
        get
        {
            lock (bucketLock)
            {
                return suppressed;
            }
        }
    }

    /// <summary>
    /// Whether a message of this kind may go out now; when it may, <paramref name="heldBack"/> is how many were suppressed
    /// before it (for <see cref="Summarize"/>). Safe from any thread; allocates nothing.
    /// </summary>
    public bool TryAcquire(out long heldBack)
    {
        lock (bucketLock)
        {
            long now = time.GetTimestamp();
            long earned = (now - lastRefill) / refillTicks;
            if (earned > 0)
            {
                tokens = Math.Min(burst, tokens + earned);
                lastRefill += earned * refillTicks;
            }

            if (tokens == 0)
            {
                suppressed++;
                heldBack = 0;
                return false;
            }

            tokens--;
            heldBack = suppressed;
            suppressed = 0;
            return true;
        }
    }

    /// <summary>The message, with how many like it were suppressed before it when any were.</summary>
    public static string Summarize(string message, long heldBack) =>
        heldBack == 0 ? message : $"{message} ({heldBack} more like it suppressed)";
}

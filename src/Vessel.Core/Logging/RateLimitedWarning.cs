using System.Diagnostics;

namespace Vessel.Core.Logging;

/// <summary>
/// A warning a guest can trigger as often as it likes (a failing disk request, a malformed frame): the first few are logged,
/// then at most one line per interval saying how many were suppressed, so a guest cannot fill the host's disk through our log.
/// </summary>
public sealed class RateLimitedWarning(IMachineLog log, string source, int burst = 5, double intervalSeconds = 60)
{
    private readonly object gate = new();
    private int logged;
    private long suppressed;
    private long windowStart = Stopwatch.GetTimestamp();

    public void Report(string message)
    {
        string? line = null;
        lock (gate)
        {
            if (Stopwatch.GetElapsedTime(windowStart).TotalSeconds >= intervalSeconds)
            {
                if (suppressed > 0)
                {
                    line = $"{source}: {suppressed} more like this suppressed; latest: {message}";
                    suppressed = 0;
                    windowStart = Stopwatch.GetTimestamp();
                    logged = burst;
                }
                else
                {
                    logged = 0;
                    windowStart = Stopwatch.GetTimestamp();
                }
            }

            if (line == null)
            {
                if (logged < burst)
                {
                    logged++;
                    line = logged == burst ? $"{source}: {message} (further ones are summarised)" : $"{source}: {message}";
                }
                else
                {
                    suppressed++;
                }
            }
        }

        if (line != null)
        {
            log.Warn(line);
        }
    }
}

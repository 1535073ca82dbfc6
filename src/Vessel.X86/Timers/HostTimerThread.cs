using System.Diagnostics;

namespace Vessel.X86.Timers;

/// <summary>
/// A one-shot host timer on a thread of its own, for the PIT's and local APIC's deadlines. Not System.Threading.Timer:
/// its callbacks run on the thread pool, which anything else in the process can keep busy (a test run, say), and a
/// guest timer tick that waits for a pool thread arrives late; Linux's boot-time check that the PIT ticks through the
/// IOAPIC ("IO-APIC + timer doesn't work!") panics when too few arrive.
/// </summary>
public sealed class HostTimerThread : IDisposable
{
    private readonly Action callback;
    private readonly object gate = new();
    private long dueTimestamp = long.MaxValue;
    private bool disposed;

    /// <param name="name">The thread's name, as debuggers and /proc show it.</param>
    /// <param name="callback">Runs on the timer's thread when the due time passes; it may call <see cref="Change"/>.</param>
    public HostTimerThread(string name, Action callback)
    {
        this.callback = callback;
        new Thread(Loop) { IsBackground = true, Name = name }.Start();
    }

    /// <summary>Fires once, <paramref name="dueMilliseconds"/> from now (0: at once), or never for <see cref="Timeout.Infinite"/>.</summary>
    public void Change(long dueMilliseconds)
    {
        lock (gate)
        {
            dueTimestamp = dueMilliseconds == Timeout.Infinite
                ? long.MaxValue
                : Stopwatch.GetTimestamp() + (long)((UInt128)(ulong)Math.Max(0, dueMilliseconds) * (ulong)Stopwatch.Frequency / 1000);
            Monitor.PulseAll(gate);
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            disposed = true;
            Monitor.PulseAll(gate);
        }
    }

    private void Loop()
    {
        while (true)
        {
            lock (gate)
            {
                while (!disposed)
                {
                    long due = dueTimestamp;
                    long now = Stopwatch.GetTimestamp();
                    if (due <= now)
                    {
                        dueTimestamp = long.MaxValue;
                        break;
                    }

                    // Rounded up, so a wake-up never comes just short of the due time.
                    int wait = due == long.MaxValue
                        ? Timeout.Infinite
                        : (int)Math.Min(int.MaxValue, ((due - now) * 1000 / Stopwatch.Frequency) + 1);
                    Monitor.Wait(gate, wait);
                }

                if (disposed)
                {
                    return;
                }
            }

            callback();
        }
    }
}

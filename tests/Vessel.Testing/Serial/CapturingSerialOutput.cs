using System.Text;
using Vessel.Devices.Serial;

namespace Vessel.Testing.Serial;

/// <summary>Collects what the guest transmits on its console UART, and lets a test wait for text to appear in it.</summary>
public sealed class CapturingSerialOutput : ISerialOutput
{
    private readonly StringBuilder text = new();
    private readonly object textLock = new();

    public string Text
    {
        get
        {
            lock (textLock)
            {
                return text.ToString();
            }
        }
    }

    public void Write(ReadOnlySpan<byte> data)
    {
        lock (textLock)
        {
            text.Append(Encoding.Latin1.GetString(data));
            Monitor.PulseAll(textLock);
        }
    }

    public void Flush()
    {
    }

    /// <summary>
    /// Waits until <paramref name="expected"/> appears at or after <paramref name="from"/> and returns the index just past it.
    /// Throws <see cref="TimeoutException"/> with the console's last lines when it does not appear in time, or as soon as
    /// <paramref name="giveUp"/> reports (for example, the machine stopped).
    /// </summary>
    public int WaitFor(string expected, TimeSpan timeout, int from = 0, Func<string?>? giveUp = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        lock (textLock)
        {
            while (true)
            {
                int found = text.ToString().IndexOf(expected, from, StringComparison.Ordinal);
                if (found >= 0)
                {
                    return found + expected.Length;
                }

                string? reason = giveUp?.Invoke();
                TimeSpan left = deadline - DateTime.UtcNow;
                if (reason != null || left <= TimeSpan.Zero)
                {
                    string tail = text.Length > 2000 ? text.ToString(text.Length - 2000, 2000) : text.ToString();
                    throw new TimeoutException(
                        $"'{expected}' did not appear on the guest console {(reason != null ? $"({reason})" : $"within {timeout.TotalSeconds:0} s")}. "
                        + $"Last console output:\n{tail}");
                }

                // Woken by every write; the periodic wake-up re-checks giveUp.
                Monitor.Wait(textLock, left < TimeSpan.FromMilliseconds(250) ? left : TimeSpan.FromMilliseconds(250));
            }
        }
    }
}

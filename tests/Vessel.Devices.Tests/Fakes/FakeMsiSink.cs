using Vessel.Core.Interrupts;

namespace Vessel.Devices.Tests.Fakes;

/// <summary>Keeps every MSI a device sends, from any thread.</summary>
public sealed class FakeMsiSink : IMsiSink
{
    private readonly List<(ulong Address, uint Data)> messages = [];

    public IReadOnlyList<(ulong Address, uint Data)> Messages
    {
        get
        {
            lock (messages)
            {
                return [.. messages];
            }
        }
    }

    public void SendMsi(ulong address, uint data)
    {
        lock (messages)
        {
            messages.Add((address, data));
            Monitor.PulseAll(messages);
        }
    }

    /// <summary>Waits until at least <paramref name="count"/> messages arrived; false after <paramref name="timeout"/>.</summary>
    public bool WaitForCount(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        lock (messages)
        {
            while (messages.Count < count)
            {
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero || !Monitor.Wait(messages, left))
                {
                    return messages.Count >= count;
                }
            }

            return true;
        }
    }
}

namespace Vessel.Devices.Io;

/// <summary>
/// Something a device does on the machine's I/O thread (serve a queue, read a socket). One instance per source, scheduled
/// again and again: scheduling an item that is already waiting to run is a no-op, so a burst of notifies costs one run.
/// </summary>
public abstract class IoWork
{
    private int scheduled;

    /// <summary>Runs on the I/O thread; exceptions are caught and reported by the loop, never left to kill it.</summary>
    public abstract void Run();

    /// <summary>Claims the item for one run; false when it is already waiting.</summary>
    internal bool TryMarkScheduled() => Interlocked.Exchange(ref scheduled, 1) == 0;

    /// <summary>Cleared just before <see cref="Run"/>, so a notify that arrives while it runs schedules it again.</summary>
    internal void ClearScheduled() => Volatile.Write(ref scheduled, 0);
}

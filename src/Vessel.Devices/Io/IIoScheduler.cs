namespace Vessel.Devices.Io;

/// <summary>Hands device work to the machine's I/O thread (or, in tests, runs it at once).</summary>
public interface IIoScheduler
{
    /// <summary>Runs <paramref name="work"/> soon on the I/O thread. Cheap and safe from any thread, vCPU threads included.</summary>
    void Schedule(IoWork work);
}

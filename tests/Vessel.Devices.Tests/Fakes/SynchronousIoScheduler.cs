using Vessel.Devices.Io;

namespace Vessel.Devices.Tests.Fakes;

/// <summary>Runs device work at once on the calling thread, so a test sees a notify's effect when the write returns.</summary>
public sealed class SynchronousIoScheduler : IIoScheduler
{
    public int Runs { get; private set; }

    public void Schedule(IoWork work)
    {
        Runs++;
        work.Run();
    }
}

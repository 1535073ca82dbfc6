using Vessel.Devices.Io;

namespace Vessel.Devices.Tests.Fakes;

/// <summary>An I/O thread that records scheduled work and watched descriptors; the test runs them when it chooses.</summary>
public sealed class RecordingIoThread : IIoScheduler, IIoDescriptorWatcher
{
    public List<IoWork> Scheduled { get; } = [];

    public Dictionary<int, IoWork> Watched { get; } = [];

    public void Schedule(IoWork work) => Scheduled.Add(work);

    public void Watch(int fd, IoWork onReadable) => Watched.Add(fd, onReadable);

    public void Unwatch(int fd) => Watched.Remove(fd);
}

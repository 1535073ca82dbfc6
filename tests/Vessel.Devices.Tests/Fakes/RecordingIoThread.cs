using Vessel.Devices.Io;

namespace Vessel.Devices.Tests.Fakes;

/// <summary>An I/O thread that records scheduled work and watched descriptors; the test runs them when it chooses.</summary>
public sealed class RecordingIoThread : IIoScheduler, IIoDescriptorWatcher
{
    public List<IoWork> Scheduled { get; } = [];

    public Dictionary<int, IoWork> Watched { get; } = [];

    public void Schedule(IoWork work) => Scheduled.Add(work);

    /// <summary>Every watch ever made, also those since dropped: a real loop may still run their work once, already queued.</summary>
    public List<(int Fd, IoWork Work)> WatchHistory { get; } = [];

    public void Watch(int fd, IoWork onReadable)
    {
        Watched.Add(fd, onReadable);
        WatchHistory.Add((fd, onReadable));
    }

    public void Unwatch(int fd) => Watched.Remove(fd);
}

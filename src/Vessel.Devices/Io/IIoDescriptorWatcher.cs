namespace Vessel.Devices.Io;

/// <summary>An I/O thread that can also wait on host descriptors (a KVM ioeventfd, a TAP device, a socket).</summary>
public interface IIoDescriptorWatcher
{
    /// <summary>Runs <paramref name="onReadable"/> on the I/O thread whenever <paramref name="fd"/> is readable (level-triggered: drain it).</summary>
    void Watch(int fd, IoWork onReadable);

    /// <summary>Stops watching <paramref name="fd"/>; call before closing it.</summary>
    void Unwatch(int fd);
}

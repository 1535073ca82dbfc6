namespace Vessel.Core.Accel;

/// <summary>A guest write the host kernel counts on an eventfd (an ioeventfd); the I/O thread watches <see cref="Descriptor"/>.</summary>
public interface IKernelIoEvent : IDisposable
{
    /// <summary>The eventfd, readable while writes are uncounted. Valid until disposed.</summary>
    int Descriptor { get; }

    /// <summary>Reads and clears the count of writes since the last call (0 when none, or when already disposed). Never blocks.</summary>
    ulong Drain();

    /// <summary>Counts one write as the guest's would, for whoever consumes the eventfd (vhost-net after taking a queue over).</summary>
    void Signal();
}

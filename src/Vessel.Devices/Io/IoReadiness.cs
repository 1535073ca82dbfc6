namespace Vessel.Devices.Io;

/// <summary>What the I/O thread watches a descriptor for (epoll's EPOLLIN and EPOLLOUT).</summary>
[Flags]
public enum IoReadiness
{
    None = 0,

    /// <summary>Bytes (or a connection, or end of stream) are waiting to be read.</summary>
    Readable = 1,

    /// <summary>There is room to write.</summary>
    Writable = 2,
}

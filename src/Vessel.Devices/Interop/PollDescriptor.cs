using System.Runtime.InteropServices;

namespace Vessel.Devices.Interop;

/// <summary><c>struct pollfd</c> (poll(2)): int fd; short events; short revents.</summary>
[StructLayout(LayoutKind.Sequential, Size = 8)]
internal struct PollDescriptor
{
    public int fd;
    public PollEvents events;
    public PollEvents revents;
}

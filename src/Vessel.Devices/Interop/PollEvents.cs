namespace Vessel.Devices.Interop;

/// <summary><c>pollfd.events</c> / <c>revents</c> bits (Linux include/uapi/asm-generic/poll.h).</summary>
[Flags]
internal enum PollEvents : short
{
    None = 0,
    POLLIN = 0x001,
    POLLERR = 0x008,
    POLLHUP = 0x010,
    POLLNVAL = 0x020,
}

using System.Runtime.InteropServices;

namespace Vessel.Devices.Interop;

/// <summary>The few libc calls the host input pump needs to wait on stdin and a stop signal at once.</summary>
internal static partial class LibC
{
    public const int EINTR = 4;
    public const int EAGAIN = 11;

    /// <summary>eventfd(2) flag: close the descriptor across exec (O_CLOEXEC on x86-64 and arm64).</summary>
    public const int EFD_CLOEXEC = 0x80000;

    public const int F_GETFD = 1;
    public const int FD_CLOEXEC = 1;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int poll([In, Out] PollDescriptor[] fds, nuint nfds, int timeout);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint read(int fd, Span<byte> buf, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint write(int fd, in ulong buf, nuint count);

    /// <summary>fcntl(2) for the commands that take no third argument (F_GETFD).</summary>
    [LibraryImport("libc", SetLastError = true)]
    public static partial int fcntl(int fd, int cmd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int eventfd(uint initval, int flags);
}

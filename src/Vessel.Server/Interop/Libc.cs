using System.Runtime.InteropServices;

namespace Vessel.Server.Interop;

/// <summary>The few libc calls the daemon needs beyond .NET: FIFOs (mkfifo, a non-blocking open, poll) and kill.</summary>
internal static partial class Libc
{
    public const int ReadWrite = 0x2;        // O_RDWR
    public const int NonBlocking = 0x800;    // O_NONBLOCK
    public const int CloseOnExec = 0x80000;  // O_CLOEXEC
    public const short PollIn = 0x1;         // POLLIN
    public const int Again = 11;             // EAGAIN
    public const int Interrupted = 4;        // EINTR
    public const int NoSuchProcess = 3;      // ESRCH
    public const int FileExists = 17;        // EEXIST
    public const int SigKill = 9;
    public const int SigTerm = 15;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short ReturnedEvents;
    }

    [LibraryImport("libc", EntryPoint = "mkfifo", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int MakeFifo(string path, uint mode);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int Open(string path, int flags, uint mode);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static unsafe partial nint Read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static unsafe partial nint Write(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static unsafe partial int Poll(PollFd* fds, nuint count, int timeoutMilliseconds);

    [LibraryImport("libc", EntryPoint = "pipe2", SetLastError = true)]
    public static unsafe partial int Pipe(int* fds, int flags);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);
}

using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>
/// The libc calls KVM needs. Descriptors travel as SafeHandles, which marshal as a pointer-sized integer; the C side
/// takes an int, which the x86-64 and arm64 calling conventions read from the low half of the same register.
/// Calls that return a new descriptor return the C int, wrapped by the caller: a SafeHandle return would be read as a
/// pointer-sized value, and a 32-bit -1 does not sign-extend into one.
/// ioctl is variadic in C; its optional argument is always one integer or pointer, passed as the third fixed argument.
/// </summary>
internal static unsafe partial class Libc
{
    private const string Library = "libc";

    public const int OpenReadWrite = 0x2;
    public const int OpenCloseOnExec = 0x80000;

    public const int ProtRead = 0x1;
    public const int ProtWrite = 0x2;
    public const int MapShared = 0x01;
    public static readonly nint MapFailed = -1;

    public const int SigUnblock = 1;

    public const int EventFdCloseOnExec = 0x80000;
    public const int EventFdNonBlock = 0x800;

    public const int ErrorNoEntry = 2;
    public const int ErrorInterrupted = 4;
    public const int ErrorNoDevice = 19;
    public const int ErrorNoDeviceOrAddress = 6;
    public const int ErrorAccess = 13;
    public const int ErrorPermission = 1;
    public const int ErrorTryAgain = 11;
    public const int ErrorTooBig = 7;
    public const int ErrorNoSuchProcess = 3;

    [LibraryImport(Library, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport(Library, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(Library, EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(SafeDescriptorHandle fd, ulong request, nint argument);

    [LibraryImport(Library, EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(SafeDescriptorHandle fd, ulong request, void* argument);

    [LibraryImport(Library, EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initialValue, int flags);

    [LibraryImport(Library, EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(SafeDescriptorHandle fd, void* buffer, nuint count);

    [LibraryImport(Library, EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(SafeDescriptorHandle fd, void* buffer, nuint count);

    [LibraryImport(Library, EntryPoint = "mmap", SetLastError = true)]
    public static partial nint Mmap(nint address, nuint length, int protection, int flags, SafeDescriptorHandle fd, long offset);

    [LibraryImport(Library, EntryPoint = "munmap", SetLastError = true)]
    public static partial int Munmap(nint address, nuint length);

    [LibraryImport(Library, EntryPoint = "sigaction", SetLastError = true)]
    public static partial int SignalAction(int signal, Sigaction* action, Sigaction* oldAction);

    [LibraryImport(Library, EntryPoint = "pthread_sigmask")]
    public static partial int PthreadSignalMask(int how, ulong* set, ulong* oldSet);

    [LibraryImport(Library, EntryPoint = "__libc_current_sigrtmin")]
    public static partial int CurrentSignalRealTimeMin();

    [LibraryImport(Library, EntryPoint = "__libc_current_sigrtmax")]
    public static partial int CurrentSignalRealTimeMax();

    [LibraryImport(Library, EntryPoint = "tgkill", SetLastError = true)]
    public static partial int ThreadGroupKill(int threadGroupId, int threadId, int signal);

    [LibraryImport(Library, EntryPoint = "gettid")]
    public static partial int GetThreadId();

    [LibraryImport(Library, EntryPoint = "getpid")]
    public static partial int GetProcessId();
}

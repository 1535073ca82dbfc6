using System.Runtime.InteropServices;

namespace Vessel.Core.Files;

/// <summary>The libc calls <see cref="HostFile"/> needs that .NET does not offer: an open that cannot block, and fstat.</summary>
internal static partial class HostFileInterop
{
    public const int ReadOnly = 0x0;

    /// <summary>O_NONBLOCK: opening a FIFO for reading returns at once instead of waiting for a writer.</summary>
    public const int NonBlocking = 0x800;

    /// <summary>O_NOCTTY: a terminal device never becomes our controlling terminal.</summary>
    public const int NoControllingTerminal = 0x100;

    public const int CloseOnExec = 0x80000;

    public const int NoSuchFile = 2;
    public const int PermissionDenied = 13;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fstat", SetLastError = true)]
    public static partial int FileStatus(int fd, out FileStatus status);
}

using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Vessel.Devices.Interop;

namespace Vessel.Devices.Storage;

/// <summary>
/// One image file on the host, opened and locked the way every format needs it: a regular file (never a directory, FIFO or
/// device), QEMU-compatible locks held for as long as it is open, positional I/O that allocates nothing, fdatasync and
/// fallocate. Opening checks everything before anything is written.
/// </summary>
internal sealed class ImageFile : IDisposable
{
    private readonly int descriptor;

    private ImageFile(string path, bool readOnly, SafeFileHandle handle, int descriptor)
    {
        Path = path;
        ReadOnly = readOnly;
        Handle = handle;
        this.descriptor = descriptor;
    }

    public string Path { get; }

    private const int LockRetries = 10;
    private static readonly TimeSpan LockRetryDelay = TimeSpan.FromMilliseconds(20);

    public bool ReadOnly { get; }

    public SafeFileHandle Handle { get; }

    public ulong Length => (ulong)RandomAccess.GetLength(Handle);

    /// <summary>Opens and locks an existing image; <paramref name="role"/> names it in errors ("Disk image", "Backing file").</summary>
    public static ImageFile Open(string path, bool readOnly, string role)
    {
        int fd = LibC.open(path, (readOnly ? LibC.O_RDONLY : LibC.O_RDWR) | LibC.O_NONBLOCK | LibC.O_CLOEXEC, 0);
        if (fd < 0)
        {
            throw OpenError(path, readOnly, role, Marshal.GetLastPInvokeError());
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            CheckRegularFile(fd, path, role);
            // A process forked anywhere in this VMM (passt, a test runner's qemu-img) holds a copy of every open
            // description until it execs, so an image closed a moment ago can look locked for a few milliseconds: look
            // again briefly before calling it a conflict. A real holder keeps its lock through the retries.
            string? conflict = ImageLock.TryAcquire(fd, readOnly);
            for (int retry = 0; conflict != null && retry < LockRetries; retry++)
            {
                Thread.Sleep(LockRetryDelay);
                conflict = ImageLock.TryAcquire(fd, readOnly);
            }

            if (conflict != null)
            {
                throw new DiskImageException(
                    $"{role} '{path}' is locked: {conflict} (another VM, QEMU or qemu-img has it open); stop that process first, "
                    + "since two programs writing one image corrupt it.");
            }

            return new ImageFile(path, readOnly, handle, fd);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Creates a new, empty, locked image file; refuses to replace an existing one.</summary>
    public static ImageFile CreateNew(string path)
    {
        int fd = LibC.open(path, LibC.O_RDWR | LibC.O_CREAT | LibC.O_EXCL | LibC.O_CLOEXEC, Convert.ToInt32("644", 8));
        if (fd < 0)
        {
            int error = Marshal.GetLastPInvokeError();
            throw new DiskImageException(error switch
            {
                LibC.EEXIST => $"'{path}' already exists; Vessel does not overwrite images, so choose another name or delete it first.",
                LibC.ENOENT or LibC.ENOTDIR => $"Cannot create '{path}': its folder does not exist; create the folder first.",
                LibC.EACCES or LibC.EPERM or LibC.EROFS => $"Cannot create '{path}': permission denied; choose a folder you can write to.",
                _ => $"Cannot create '{path}': {Marshal.GetPInvokeErrorMessage(error)}.",
            });
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        ImageLock.TryAcquire(fd, readOnly: false);
        return new ImageFile(path, false, handle, fd);
    }

    /// <summary>Fills <paramref name="destination"/> from <paramref name="offset"/>; bytes past the end of the file read as zeroes.</summary>
    public void Read(ulong offset, Span<byte> destination)
    {
        while (destination.Length > 0)
        {
            int count = RandomAccess.Read(Handle, destination, (long)offset);
            if (count <= 0)
            {
                destination.Clear();
                return;
            }

            destination = destination[count..];
            offset += (ulong)count;
        }
    }

    public void Write(ulong offset, ReadOnlySpan<byte> source) => RandomAccess.Write(Handle, source, (long)offset);

    /// <summary>fdatasync(2): completed writes, and the metadata needed to read them back, are on stable storage.</summary>
    public void Flush()
    {
        if (LibC.fdatasync(descriptor) != 0)
        {
            int error = Marshal.GetLastPInvokeError();
            throw new IOException($"fdatasync of '{Path}' failed: {Marshal.GetPInvokeErrorMessage(error)}.");
        }
    }

    /// <summary>Deallocates the range (it reads as zeroes); false where the file system cannot punch holes.</summary>
    public bool TryPunchHole(ulong offset, ulong length) =>
        LibC.fallocate(descriptor, LibC.FALLOC_FL_PUNCH_HOLE | LibC.FALLOC_FL_KEEP_SIZE, (long)offset, (long)length) == 0;

    /// <summary>Makes the range read as zeroes, keeping it allocated; false where the file system cannot.</summary>
    public bool TryZeroRange(ulong offset, ulong length) =>
        LibC.fallocate(descriptor, LibC.FALLOC_FL_ZERO_RANGE | LibC.FALLOC_FL_KEEP_SIZE, (long)offset, (long)length) == 0;

    public void SetLength(ulong length) => RandomAccess.SetLength(Handle, (long)length);

    public void Dispose() => Handle.Dispose();

    private static void CheckRegularFile(int fd, string path, string role)
    {
        if (LibC.statx(fd, string.Empty, LibC.AT_EMPTY_PATH, LibC.STATX_TYPE, out var status) != 0)
        {
            int error = Marshal.GetLastPInvokeError();
            throw new DiskImageException($"Cannot examine {role.ToLowerInvariant()} '{path}': {Marshal.GetPInvokeErrorMessage(error)}.");
        }

        string? kind = (status.stx_mode & LibC.S_IFMT) switch
        {
            LibC.S_IFREG => null,
            LibC.S_IFDIR => "a directory",
            LibC.S_IFIFO => "a FIFO",
            LibC.S_IFCHR => "a character device",
            LibC.S_IFBLK => "a block device",
            LibC.S_IFSOCK => "a socket",
            _ => "not a regular file",
        };
        if (kind != null)
        {
            throw new DiskImageException($"{role} '{path}' is {kind}, not a regular file; give the path of an image file.");
        }
    }

    private static DiskImageException OpenError(string path, bool readOnly, string role, int error) => new(error switch
    {
        LibC.ENOENT => $"{role} '{path}' does not exist; check the path, or create an image with 'vessel disk create'.",
        LibC.ENOTDIR => $"{role} '{path}' does not exist (a part of the path is not a folder); check the path.",
        LibC.EISDIR => $"{role} '{path}' is a directory, not a regular file; give the path of an image file.",
        LibC.ELOOP => $"{role} '{path}' is a symbolic link loop; point it at an image file.",
        LibC.EACCES or LibC.EPERM when readOnly => $"{role} '{path}' cannot be read: permission denied; give this user read access to it.",
        LibC.EACCES or LibC.EPERM or LibC.EROFS =>
            $"{role} '{path}' cannot be opened for writing: permission denied; give this user write access or open it with readonly=on.",
        _ => $"{role} '{path}' cannot be opened: {Marshal.GetPInvokeErrorMessage(error)}.",
    });
}

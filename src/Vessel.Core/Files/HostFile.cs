using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Vessel.Core.Files;

/// <summary>
/// The one way the VMM opens a file a user named (kernel, initrd, and later disk images, snapshots and config files):
/// opened without blocking, checked to be a regular file no larger than the caller's limit, and read with that bound.
/// A FIFO, a device (/dev/zero), a socket or a directory is refused with one sentence, before a byte is read.
/// </summary>
public static class HostFile
{
    /// <summary>
    /// Opens <paramref name="path"/> for reading and checks it; <paramref name="option"/> names where it came from
    /// (<c>--kernel</c>), <paramref name="expected"/> what it should be ("a vmlinux, bzImage or multiboot image"), and
    /// <paramref name="limitMeaning"/> why <paramref name="maxBytes"/> is the limit ("the guest's 128 MiB of memory").
    /// </summary>
    public static SafeFileHandle OpenRegular(string path, string option, string expected, long maxBytes, string limitMeaning, out long length)
    {
        // O_NONBLOCK, so that a FIFO nobody writes to cannot hang us in open(2); fstat on the descriptor then says what
        // was opened, with no window for the path to change between the check and the read.
        int fd = HostFileInterop.Open(path, HostFileInterop.ReadOnly | HostFileInterop.NonBlocking | HostFileInterop.NoControllingTerminal | HostFileInterop.CloseOnExec);
        if (fd < 0)
        {
            int error = Marshal.GetLastPInvokeError();
            throw new HostFileException(error switch
            {
                HostFileInterop.NoSuchFile => $"{option}: '{path}' does not exist. Give the path of {expected}.",
                HostFileInterop.PermissionDenied => $"{option}: '{path}' cannot be read (permission denied). Check its permissions.",
                _ => $"{option}: '{path}' cannot be opened ({Marshal.GetPInvokeErrorMessage(error)}). Give the path of {expected}.",
            });
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            if (HostFileInterop.FileStatus(fd, out var status) != 0)
            {
                int error = Marshal.GetLastPInvokeError();
                throw new HostFileException($"{option}: '{path}' cannot be examined ({Marshal.GetPInvokeErrorMessage(error)}). Give the path of {expected}.");
            }

            if (status.Type != FileStatus.RegularFile)
            {
                string what = status.Type switch
                {
                    FileStatus.Directory => "a directory",
                    FileStatus.Fifo => "a FIFO (named pipe)",
                    FileStatus.CharacterDevice => "a character device",
                    FileStatus.BlockDevice => "a block device",
                    FileStatus.Socket => "a socket",
                    _ => "not a regular file",
                };
                throw new HostFileException($"{option}: '{path}' is {what}, not a regular file. Give the path of {expected}.");
            }

            if (status.Size > maxBytes)
            {
                throw new HostFileException(
                    $"{option}: '{path}' is {FormatSize(status.Size)}, more than {limitMeaning} can hold ({FormatSize(maxBytes)}). Give a smaller file or more memory.");
            }

            length = status.Size;
            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Checks <paramref name="path"/> as <see cref="OpenRegular"/> does, without reading it.</summary>
    public static void Check(string path, string option, string expected, long maxBytes, string limitMeaning)
    {
        using var handle = OpenRegular(path, option, expected, maxBytes, limitMeaning, out _);
    }

    /// <summary>Reads the whole of a checked file: never more than its checked size, however the file changes meanwhile.</summary>
    public static byte[] ReadAll(string path, string option, string expected, long maxBytes, string limitMeaning)
    {
        using var handle = OpenRegular(path, option, expected, maxBytes, limitMeaning, out long length);
        var bytes = new byte[length];
        int total = 0;
        try
        {
            while (total < bytes.Length)
            {
                int read = RandomAccess.Read(handle, bytes.AsSpan(total), total);
                if (read == 0)
                {
                    break;
                }

                total += read;
            }
        }
        catch (IOException exception)
        {
            throw new HostFileException($"{option}: reading '{path}' failed ({exception.Message}). Check the file and its disk.", exception);
        }

        if (total != bytes.Length)
        {
            throw new HostFileException($"{option}: '{path}' shrank from {length} to {total} bytes while it was read. Give a file nothing else is writing.");
        }

        return bytes;
    }

    /// <summary>A byte count the way a user reads it: 512 bytes, 3.2 MiB, 4.0 GiB.</summary>
    public static string FormatSize(long bytes) => bytes switch
    {
        < 1L << 10 => $"{bytes} bytes",
        < 1L << 20 => $"{bytes / 1024.0:0.#} KiB",
        < 1L << 30 => $"{bytes / (1024.0 * 1024):0.#} MiB",
        _ => $"{bytes / (1024.0 * 1024 * 1024):0.#} GiB",
    };
}

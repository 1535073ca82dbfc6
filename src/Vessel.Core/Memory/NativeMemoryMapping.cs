using System.Runtime.InteropServices;

namespace Vessel.Core.Memory;

/// <summary>Anonymous private host mappings: zero-filled, lazily committed, the same pages KVM later maps into the guest.</summary>
internal static partial class NativeMemoryMapping
{
    private const int ProtRead = 0x1;
    private const int ProtWrite = 0x2;
    private const int MapPrivate = 0x02;
    private const int MapAnonymous = 0x20;
    private const int MapNoReserve = 0x4000;
    private static readonly nint MapFailed = -1;

    public static nint MapAnonymousReadWrite(ulong size)
    {
        nint address = Mmap(0, (nuint)size, ProtRead | ProtWrite, MapPrivate | MapAnonymous | MapNoReserve, -1, 0);
        if (address == MapFailed)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new OutOfMemoryException(
                $"Could not reserve {size >> 20} MiB of host memory for guest RAM (mmap errno {errno}). Use a smaller --memory.");
        }

        return address;
    }

    /// <summary>
    /// Maps <paramref name="size"/> bytes of an open file at <paramref name="offset"/> copy-on-write (MAP_PRIVATE): pages are
    /// read from the file when first touched, and writes stay in this process, never reaching the file.
    /// </summary>
    public static nint MapFilePrivate(SafeHandle file, long offset, ulong size, string path)
    {
        bool added = false;
        try
        {
            file.DangerousAddRef(ref added);
            nint address = Mmap(0, (nuint)size, ProtRead | ProtWrite, MapPrivate | MapNoReserve, (int)file.DangerousGetHandle(), offset);
            if (address == MapFailed)
            {
                int errno = Marshal.GetLastPInvokeError();
                throw new OutOfMemoryException(
                    $"Could not map {size >> 20} MiB of the memory file {path} at offset {offset} (mmap errno {errno}). Check the file is a regular file on a local file system.");
            }

            return address;
        }
        finally
        {
            if (added)
            {
                file.DangerousRelease();
            }
        }
    }

    public static void Unmap(nint address, ulong size) => Munmap(address, (nuint)size);

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial nint Mmap(nint address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static partial int Munmap(nint address, nuint length);
}

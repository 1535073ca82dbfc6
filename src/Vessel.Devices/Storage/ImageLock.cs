using System.Runtime.InteropServices;
using Vessel.Devices.Interop;

namespace Vessel.Devices.Storage;

/// <summary>
/// QEMU's image locking (block/file-posix.c, raw_apply_lock_bytes / raw_check_lock_bytes), so that Vessel and QEMU see each
/// other: a shared OFD lock on byte 100+n for each permission n the opener holds, and on byte 200+n for each permission it
/// refuses to share. A conflict is another open file holding a byte we test: 200+n for a permission we want, 100+n for one
/// we refuse to share. Like a QEMU disk without share-rw, a writer refuses to share write and resize; a reader refuses
/// them too, so no one writes an image a VM reads. Two readers coexist.
/// </summary>
internal static class ImageLock
{
    private const long PermissionBase = 100;
    private const long UnsharedBase = 200;

    /// <summary>QEMU's BLK_PERM_* bits (include/block/block-common.h).</summary>
    [Flags]
    private enum Permission
    {
        None = 0,
        ConsistentRead = 0x01,
        Write = 0x02,
        WriteUnchanged = 0x04,
        Resize = 0x08,
    }

    private static readonly string[] PermissionNames = ["consistent read", "write", "write unchanged", "resize"];

    /// <summary>Takes the locks for a reader or a writer; returns null, or what conflicts (another process's permission).</summary>
    public static string? TryAcquire(int fd, bool readOnly)
    {
        var held = readOnly ? Permission.ConsistentRead : Permission.ConsistentRead | Permission.Write | Permission.Resize;
        var unshared = Permission.Write | Permission.Resize;
        for (int bit = 0; bit < PermissionNames.Length; bit++)
        {
            var permission = (Permission)(1 << bit);
            if (((held & permission) != 0 && !TrySetReadLock(fd, PermissionBase + bit))
                || ((unshared & permission) != 0 && !TrySetReadLock(fd, UnsharedBase + bit)))
            {
                return "another process holds an exclusive lock on it";
            }
        }

        for (int bit = 0; bit < PermissionNames.Length; bit++)
        {
            var permission = (Permission)(1 << bit);
            if ((held & permission) != 0 && IsLockedByOthers(fd, UnsharedBase + bit))
            {
                return $"another process refuses to share the {PermissionNames[bit]} permission Vessel needs";
            }

            if ((unshared & permission) != 0 && IsLockedByOthers(fd, PermissionBase + bit))
            {
                return $"another process holds the {PermissionNames[bit]} permission on it";
            }
        }

        return null;
    }

    /// <summary>False only when another open file holds a write lock on the byte; a file system without OFD locks counts as unlocked, as in QEMU.</summary>
    private static bool TrySetReadLock(int fd, long offset)
    {
        var record = new Flock { l_type = LibC.F_RDLCK, l_whence = LibC.SEEK_SET, l_start = offset, l_len = 1 };
        if (LibC.fcntl(fd, LibC.F_OFD_SETLK, ref record) == 0)
        {
            return true;
        }

        int error = Marshal.GetLastPInvokeError();
        return error != LibC.EAGAIN && error != LibC.EACCES;
    }

    private static bool IsLockedByOthers(int fd, long offset)
    {
        var record = new Flock { l_type = LibC.F_WRLCK, l_whence = LibC.SEEK_SET, l_start = offset, l_len = 1 };
        if (LibC.fcntl(fd, LibC.F_OFD_GETLK, ref record) != 0)
        {
            return false;
        }

        return record.l_type != LibC.F_UNLCK;
    }
}

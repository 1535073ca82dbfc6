using Microsoft.Win32.SafeHandles;
using Vessel.Core.Memory;

namespace Vessel.Vmm.Snapshots;

/// <summary>
/// Writes guest RAM to a snapshot's memory file: the regions one after another (RAM below the MMIO hole at offset 0, RAM
/// above 4 GiB after it), which is what <see cref="GuestMemory.MapFile"/> maps back. A full snapshot leaves all-zero pages
/// as holes (the file is sparse); a diff snapshot writes only the pages in the dirty log and leaves every other byte of an
/// existing file alone, so a diff written over a copy of the last full memory file is a complete memory file (as
/// Firecracker's diff snapshots layered on a base are).
/// </summary>
internal static class MemoryFile
{
    /// <summary>Pages written in one call at most: large writes, and a bounded span over guest RAM.</summary>
    private const int MaximumRunPages = 4096;

    /// <summary>Writes every non-zero page; returns the bytes written.</summary>
    public static long WriteFull(GuestMemory memory, string path)
    {
        using var file = Open(path, FileMode.Create, memory.TotalSize);
        long written = 0;
        long fileOffset = 0;
        foreach (var region in memory.Regions)
        {
            ulong pages = region.Size / GuestMemory.PageSize;
            ulong page = 0;
            while (page < pages)
            {
                // Skip zero pages, then gather the run of non-zero pages after them.
                while (page < pages && IsZero(memory, region.Start + (page * GuestMemory.PageSize)))
                {
                    page++;
                }

                ulong first = page;
                while (page < pages && page - first < MaximumRunPages && !IsZero(memory, region.Start + (page * GuestMemory.PageSize)))
                {
                    page++;
                }

                if (page > first)
                {
                    written += WriteRun(file, memory, region.Start + (first * GuestMemory.PageSize), fileOffset + (long)(first * GuestMemory.PageSize), page - first, path);
                }
            }

            fileOffset += (long)region.Size;
        }

        return written;
    }

    /// <summary>Writes the pages whose bits are set in <paramref name="dirtyPages"/> (bit n of word w: page 64w+n); returns the bytes written.</summary>
    public static long WriteDirty(GuestMemory memory, string path, ulong[] dirtyPages)
    {
        using var file = Open(path, FileMode.OpenOrCreate, memory.TotalSize);
        long written = 0;
        long fileOffset = 0;
        foreach (var region in memory.Regions)
        {
            ulong firstPage = region.Start.Value / GuestMemory.PageSize;
            ulong pages = region.Size / GuestMemory.PageSize;
            ulong page = 0;
            while (page < pages)
            {
                while (page < pages && !IsSet(dirtyPages, firstPage + page))
                {
                    page++;
                }

                ulong first = page;
                while (page < pages && page - first < MaximumRunPages && IsSet(dirtyPages, firstPage + page))
                {
                    page++;
                }

                if (page > first)
                {
                    written += WriteRun(file, memory, region.Start + (first * GuestMemory.PageSize), fileOffset + (long)(first * GuestMemory.PageSize), page - first, path);
                }
            }

            fileOffset += (long)region.Size;
        }

        return written;
    }

    private static SafeFileHandle Open(string path, FileMode mode, ulong size)
    {
        try
        {
            var file = File.OpenHandle(path, mode, FileAccess.ReadWrite, FileShare.Read);
            if ((ulong)RandomAccess.GetLength(file) < size)
            {
                RandomAccess.SetLength(file, (long)size);
            }

            return file;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new SnapshotException($"The memory file {path} cannot be written: {exception.Message}", exception);
        }
    }

    private static long WriteRun(SafeFileHandle file, GuestMemory memory, GuestAddress address, long offset, ulong pages, string path)
    {
        int length = (int)(pages * GuestMemory.PageSize);
        try
        {
            RandomAccess.Write(file, memory.GetSpan(address, length), offset);
        }
        catch (IOException exception)
        {
            throw new SnapshotException($"The memory file {path} cannot be written at offset {offset}: {exception.Message}", exception);
        }

        return length;
    }

    private static bool IsZero(GuestMemory memory, GuestAddress page) =>
        !memory.GetSpan(page, GuestMemory.PageSize).ContainsAnyExcept((byte)0);

    private static bool IsSet(ulong[] bitmap, ulong page) =>
        page / 64 < (ulong)bitmap.Length && (bitmap[page / 64] & (1UL << (int)(page % 64))) != 0;
}

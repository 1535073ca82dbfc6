using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Vessel.Server.Interop;

/// <summary>A raw descriptor (a FIFO end) that closes once, whoever disposes it.</summary>
internal sealed class FileDescriptor : SafeHandleZeroOrMinusOneIsInvalid
{
    public FileDescriptor(int fd)
        : base(ownsHandle: true)
    {
        SetHandle(fd);
    }

    public int Fd => (int)handle;

    /// <summary>Opens <paramref name="path"/> read-write with <paramref name="extraFlags"/>; on a FIFO that never blocks and never sees end-of-file.</summary>
    public static FileDescriptor OpenReadWrite(string path, int extraFlags)
    {
        int fd = Libc.Open(path, Libc.ReadWrite | Libc.CloseOnExec | extraFlags, 0);
        if (fd < 0)
        {
            throw new IOException($"cannot open '{path}': {Marshal.GetLastPInvokeErrorMessage()}.");
        }

        return new FileDescriptor(fd);
    }

    protected override bool ReleaseHandle() => Libc.Close((int)handle) == 0;
}

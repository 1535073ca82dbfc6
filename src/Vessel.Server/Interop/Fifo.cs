using System.Runtime.InteropServices;

namespace Vessel.Server.Interop;

/// <summary>Named pipes in a VM's state folder: the console's way between the VMM process and whichever daemon runs.</summary>
internal static class Fifo
{
    /// <summary>Creates the FIFO (mode 0600) unless it already exists as one.</summary>
    public static void Ensure(string path)
    {
        if (Libc.MakeFifo(path, Convert.ToUInt32("600", 8)) == 0)
        {
            return;
        }

        int error = Marshal.GetLastPInvokeError();
        if (error == Libc.FileExists)
        {
            // Left by an earlier start or an earlier daemon: the folder is the daemon's own (0700), so it is ours.
            return;
        }

        throw new IOException($"cannot create the FIFO '{path}': {Marshal.GetPInvokeErrorMessage(error)}.");
    }
}

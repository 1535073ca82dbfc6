using System.Runtime.InteropServices;
using Vessel.Server.Interop;

namespace Vessel.Server.Vms;

/// <summary>
/// The daemon's ends of a VM's console FIFOs. A thread drains <c>console.out</c> into the <see cref="ConsoleLog"/>;
/// input is written to <c>console.in</c> without blocking (typed bytes that find the FIFO full are dropped, as a
/// UART's would be). Both FIFOs are opened read-write, as the VMM opens them too, so neither side ever sees
/// end-of-file or a broken pipe when the other goes away: output the guest writes while no daemon runs waits in the
/// FIFO for the next one (up to the pipe's 64 KiB; after that the guest's serial writes wait).
/// </summary>
public sealed class ConsolePipes : IDisposable
{
    private readonly FileDescriptor output;
    private readonly FileDescriptor input;
    private readonly FileDescriptor wakeRead;
    private readonly FileDescriptor wakeWrite;
    private readonly ConsoleLog log;
    private readonly Thread pump;
    private readonly Lock readLock = new();
    private volatile bool stopping;

    private unsafe ConsolePipes(VmPaths paths, ConsoleLog log)
    {
        this.log = log;
        Fifo.Ensure(paths.ConsoleIn);
        Fifo.Ensure(paths.ConsoleOut);
        output = FileDescriptor.OpenReadWrite(paths.ConsoleOut, Libc.NonBlocking);
        input = FileDescriptor.OpenReadWrite(paths.ConsoleIn, Libc.NonBlocking);
        int* ends = stackalloc int[2];
        if (Libc.Pipe(ends, Libc.CloseOnExec | Libc.NonBlocking) != 0)
        {
            throw new IOException($"cannot create a pipe: {Marshal.GetLastPInvokeErrorMessage()}.");
        }

        wakeRead = new FileDescriptor(ends[0]);
        wakeWrite = new FileDescriptor(ends[1]);
        pump = new Thread(Pump) { IsBackground = true, Name = $"console {Path.GetFileName(paths.Directory)}" };
    }

    public static ConsolePipes Open(VmPaths paths, ConsoleLog log)
    {
        var pipes = new ConsolePipes(paths, log);
        pipes.pump.Start();
        return pipes;
    }

    /// <summary>Types <paramref name="bytes"/> into the guest's serial console; returns how many the FIFO took.</summary>
    public unsafe int Write(ReadOnlySpan<byte> bytes)
    {
        int written = 0;
        fixed (byte* start = bytes)
        {
            while (written < bytes.Length)
            {
                nint count = Libc.Write(input.Fd, start + written, (nuint)(bytes.Length - written));
                if (count <= 0)
                {
                    break;
                }

                written += (int)count;
            }
        }

        return written;
    }

    /// <summary>Moves what is already in the output FIFO into the log (the VMM exited: its last words).</summary>
    public void Drain() => ReadAvailable(new byte[16384]);

    public unsafe void Dispose()
    {
        stopping = true;
        byte wake = 1;
        Libc.Write(wakeWrite.Fd, &wake, 1);
        pump.Join();
        output.Dispose();
        input.Dispose();
        wakeRead.Dispose();
        wakeWrite.Dispose();
    }

    private unsafe void Pump()
    {
        var buffer = new byte[16384];
        var fds = stackalloc Libc.PollFd[2];
        while (!stopping)
        {
            fds[0] = new Libc.PollFd { Fd = output.Fd, Events = Libc.PollIn };
            fds[1] = new Libc.PollFd { Fd = wakeRead.Fd, Events = Libc.PollIn };
            int ready = Libc.Poll(fds, 2, -1);
            if (ready < 0 && Marshal.GetLastPInvokeError() != Libc.Interrupted)
            {
                return;
            }

            if (!stopping && (fds[0].ReturnedEvents & Libc.PollIn) != 0)
            {
                ReadAvailable(buffer);
            }
        }
    }

    private unsafe void ReadAvailable(byte[] buffer)
    {
        lock (readLock)
        {
            fixed (byte* start = buffer)
            {
                nint count;
                while ((count = Libc.Read(output.Fd, start, (nuint)buffer.Length)) > 0)
                {
                    log.Append(buffer.AsSpan(0, (int)count));
                }
            }
        }
    }
}

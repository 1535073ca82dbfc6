using System.ComponentModel;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Vessel.Devices.Interop;

namespace Vessel.Devices.Serial;

/// <summary>
/// A background thread that reads the host's input (stdin: a terminal or a pipe) and hands each chunk to a callback,
/// usually the owner's escape-key filter in front of <see cref="Uart16550.EnqueueInput"/>. It ends by itself at end of
/// input (stdin from /dev/null, a closed pipe, a closed descriptor) and on <see cref="Dispose"/>, which wakes it at once.
/// Terminal modes (raw input, no echo) are the caller's to set. The callback runs on the pump's thread and must not throw.
/// </summary>
public sealed class HostInputPump : IDisposable
{
    private const int StandardInputDescriptor = 0;
    private const int ReadChunkSize = 4096;

    private readonly SafeHandle input;
    private readonly Action<ReadOnlySpan<byte>> onInput;
    private readonly SafeFileHandle stopEvent;
    private readonly Thread thread;
    private int started;
    private int disposed;

    public HostInputPump(SafeHandle input, Action<ReadOnlySpan<byte>> onInput)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(onInput);
        this.input = input;
        this.onInput = onInput;

        int eventDescriptor = LibC.eventfd(0, LibC.EFD_CLOEXEC);
        if (eventDescriptor < 0)
        {
            throw new Win32Exception(Marshal.GetLastPInvokeError(), "Could not create the eventfd that stops the host input reader.");
        }

        stopEvent = new SafeFileHandle(eventDescriptor, ownsHandle: true);
        thread = new Thread(Pump) { IsBackground = true, Name = "vessel host input" };
    }

    /// <summary>
    /// A pump over the process's stdin (descriptor 0, which it does not close). When the process started with stdin
    /// closed, the pump reads /dev/null instead and so ends at once.
    /// </summary>
    public static HostInputPump ForStandardInput(Action<ReadOnlySpan<byte>> onInput)
    {
        ArgumentNullException.ThrowIfNull(onInput);
        return StandardInputWasInherited()
            ? new HostInputPump(new SafeFileHandle(StandardInputDescriptor, ownsHandle: false), onInput)
            : new HostInputPump(File.OpenHandle("/dev/null"), onInput);
    }

    public void Start()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        if (Interlocked.Exchange(ref started, 1) != 0)
        {
            throw new InvalidOperationException("The host input pump is already running.");
        }

        // The thread holds a reference on both descriptors until it ends, so Dispose (possibly called from the callback,
        // on the pump's own thread) can never close a descriptor the thread is still polling.
        bool inputReferenced = false;
        bool stopReferenced = false;
        input.DangerousAddRef(ref inputReferenced);
        stopEvent.DangerousAddRef(ref stopReferenced);
        thread.Start();
    }

    /// <summary>Waits for the pump to reach end of input or be stopped; true if it has ended.</summary>
    public bool WaitForEnd(TimeSpan timeout) => Volatile.Read(ref started) == 0 || thread.Join(timeout);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        if (Volatile.Read(ref started) != 0)
        {
            SignalStop();
            if (Thread.CurrentThread != thread)
            {
                thread.Join();
            }
        }

        stopEvent.Dispose();
    }

    private void SignalStop()
    {
        bool referenced = false;
        try
        {
            stopEvent.DangerousAddRef(ref referenced);
            ulong one = 1;
            LibC.write((int)stopEvent.DangerousGetHandle(), in one, sizeof(ulong));
        }
        finally
        {
            if (referenced)
            {
                stopEvent.DangerousRelease();
            }
        }
    }

    private void Pump()
    {
        try
        {
            var descriptors = new PollDescriptor[]
            {
                new() { fd = (int)input.DangerousGetHandle(), events = PollEvents.POLLIN },
                new() { fd = (int)stopEvent.DangerousGetHandle(), events = PollEvents.POLLIN },
            };
            var buffer = new byte[ReadChunkSize];
            while (WaitForInput(descriptors) && ReadChunk(descriptors[0].fd, buffer))
            {
            }
        }
        finally
        {
            stopEvent.DangerousRelease();
            input.DangerousRelease();
        }
    }

    /// <summary>
    /// Whether descriptor 0 is the stdin this process was started with. If it was started with stdin closed, the .NET
    /// runtime's first open (an internal pipe, seen in practice) takes descriptor 0, and reading it would steal the
    /// runtime's own data. A descriptor inherited across exec cannot be close-on-exec, while the runtime opens its
    /// descriptors with O_CLOEXEC, so that flag tells the two apart.
    /// </summary>
    private static bool StandardInputWasInherited()
    {
        int flags = LibC.fcntl(StandardInputDescriptor, LibC.F_GETFD);
        return flags >= 0 && (flags & LibC.FD_CLOEXEC) == 0;
    }

    /// <summary>False when the pump should end: stop requested, or the input descriptor is invalid or failed.</summary>
    private static bool WaitForInput(PollDescriptor[] descriptors)
    {
        while (true)
        {
            descriptors[0].revents = PollEvents.None;
            descriptors[1].revents = PollEvents.None;
            if (LibC.poll(descriptors, (nuint)descriptors.Length, -1) >= 0)
            {
                break;
            }

            if (Marshal.GetLastPInvokeError() != LibC.EINTR)
            {
                return false;
            }
        }

        if (descriptors[1].revents != PollEvents.None || (descriptors[0].revents & PollEvents.POLLNVAL) != 0)
        {
            return false;
        }

        // POLLHUP and POLLERR still go to read(), which drains what is left and then reports end of input or the error.
        return true;
    }

    /// <summary>False at end of input or on a read error.</summary>
    private bool ReadChunk(int descriptor, byte[] buffer)
    {
        nint count = LibC.read(descriptor, buffer, (nuint)buffer.Length);
        if (count > 0)
        {
            onInput(buffer.AsSpan(0, (int)count));
            return true;
        }

        if (count == 0)
        {
            return false;
        }

        int error = Marshal.GetLastPInvokeError();
        return error is LibC.EINTR or LibC.EAGAIN;
    }
}

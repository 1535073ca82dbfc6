using Microsoft.Win32.SafeHandles;

namespace Vessel.Devices.Serial;

/// <summary>
/// Sends a UART's output to the host's stdout (or any stream) through a bounded buffer and a writer thread of its own,
/// so the vCPU that writes THR never sits in write(2): a terminal or pipe that stops reading blocks only the writer.
/// </summary>
/// <remarks>
/// When the buffer is full the vCPU waits for room, as a real UART holds its transmitter until the line drains (no guest
/// output is lost to a slow terminal). <see cref="Abandon"/> ends every such wait and drops later output: the machine's
/// stop calls it, so a reader that never reads cannot keep the VMM from exiting.
/// </remarks>
public sealed class ConsoleSerialOutput : ISerialOutput, IDisposable
{
    /// <summary>Buffered bytes before a writing vCPU waits: a few screens of text, far more than a UART's FIFO.</summary>
    public const int DefaultCapacity = 64 * 1024;

    private readonly Stream destination;
    private readonly byte[] ring;
    private readonly Lock ringLock = new();
    private readonly Thread writer;
    private readonly ManualResetEventSlim dataReady = new(false);
    private readonly ManualResetEventSlim roomReady = new(true);
    private readonly ManualResetEventSlim drained = new(true);
    private int start;
    private int count;
    private volatile bool abandoned;
    private volatile bool disposed;

    /// <summary>
    /// Writes to this process's stdout (descriptor 1) through a FileStream of its own, unbuffered and with no text encoding.
    /// Not Console.OpenStandardOutput(): .NET's console stream holds a lock on Console.Out while it sits in write(2), and
    /// every Console.Error write takes the same lock, so a stdout nobody reads would stall our stderr messages too.
    /// </summary>
    public ConsoleSerialOutput()
        : this(new FileStream(new SafeFileHandle(1, ownsHandle: false), FileAccess.Write, bufferSize: 0))
    {
    }

    public ConsoleSerialOutput(Stream destination, int capacity = DefaultCapacity)
    {
        this.destination = destination;
        ring = new byte[capacity];
        writer = new Thread(WriteLoop) { IsBackground = true, Name = "console output" };
        writer.Start();
    }

    /// <summary>Whether <see cref="Abandon"/> was called: output is dropped and no writer waits.</summary>
    public bool IsAbandoned => abandoned;

    /// <summary>Queues <paramref name="data"/>; waits for room only while the output is not abandoned.</summary>
    public void Write(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty && !abandoned)
        {
            int copied;
            lock (ringLock)
            {
                int room = ring.Length - count;
                copied = Math.Min(room, data.Length);
                for (int i = 0; i < copied; i++)
                {
                    ring[(start + count + i) % ring.Length] = data[i];
                }

                count += copied;
                if (copied > 0)
                {
                    drained.Reset();
                    dataReady.Set();
                }

                if (count == ring.Length)
                {
                    roomReady.Reset();
                }
            }

            data = data[copied..];
            if (!data.IsEmpty)
            {
                roomReady.Wait();
            }
        }
    }

    /// <summary>Nothing to do: the writer thread writes and flushes as soon as bytes arrive.</summary>
    public void Flush()
    {
    }

    /// <summary>Drops all later output and releases any vCPU waiting for room; what is buffered may still be written.</summary>
    public void Abandon()
    {
        abandoned = true;
        roomReady.Set();
    }

    /// <summary>Waits up to <paramref name="timeout"/> for the buffered bytes to reach the destination; false when they did not.</summary>
    public bool WaitUntilDrained(TimeSpan timeout) => drained.Wait(timeout);

    public void Dispose()
    {
        disposed = true;
        Abandon();
        dataReady.Set();
    }

    private void WriteLoop()
    {
        var chunk = new byte[4096];
        try
        {
            while (true)
            {
                dataReady.Wait();
                int taken;
                lock (ringLock)
                {
                    taken = Math.Min(count, Math.Min(chunk.Length, ring.Length - start));
                    Array.Copy(ring, start, chunk, 0, taken);
                    start = (start + taken) % ring.Length;
                    count -= taken;
                    roomReady.Set();
                    if (count == 0)
                    {
                        dataReady.Reset();
                    }
                }

                if (taken > 0)
                {
                    destination.Write(chunk, 0, taken);
                    destination.Flush();
                }

                lock (ringLock)
                {
                    if (count == 0)
                    {
                        drained.Set();
                        if (disposed)
                        {
                            return;
                        }
                    }
                }
            }
        }
        catch (Exception exception) when (exception is IOException or ObjectDisposedException)
        {
            // stdout closed (the reader went away): the guest's output has nowhere to go, and that is no reason to stop it.
            Abandon();
            drained.Set();
        }
    }
}

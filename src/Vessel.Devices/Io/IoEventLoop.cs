using System.Collections.Concurrent;
using System.ComponentModel;
using Vessel.Core.Logging;
using Vessel.Devices.Interop;

namespace Vessel.Devices.Io;

/// <summary>
/// The machine's I/O thread: one thread per VM that serves every device's queues, so a slow disk stalls neither a vCPU nor
/// another device's interrupts, and no thread is made per request. It sleeps in epoll_wait on an eventfd (its doorbell) and on
/// the descriptors devices register (a KVM ioeventfd, a TAP device, a socket), and runs scheduled <see cref="IoWork"/> in order.
/// </summary>
public sealed class IoEventLoop : IIoScheduler, IIoDescriptorWatcher, IDisposable
{
    private const int MaxEventsPerWait = 32;

    private readonly ConcurrentQueue<IoWork> ready = new();
    private readonly ConcurrentDictionary<int, IoWork> descriptors = new();
    private readonly IMachineLog log;
    private readonly int epoll;
    private readonly int doorbell;
    private readonly Thread thread;
    private readonly ManualResetEventSlim resumed = new(true);
    private readonly ManualResetEventSlim parked = new(false);
    private volatile bool stopping;
    private volatile bool quiesceRequested;
    private int sleeping;
    private bool disposed;

    public IoEventLoop(IMachineLog log, string name = "io")
    {
        this.log = log;
        epoll = Epoll.epoll_create1(Epoll.EPOLL_CLOEXEC);
        if (epoll < 0)
        {
            throw new Win32Exception($"epoll_create1 failed for the I/O thread (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}).");
        }

        doorbell = LibC.eventfd(0, LibC.EFD_CLOEXEC | Epoll.EFD_NONBLOCK);
        if (doorbell < 0)
        {
            Epoll.close(epoll);
            throw new Win32Exception($"eventfd failed for the I/O thread (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}).");
        }

        AddToEpoll(doorbell);
        thread = new Thread(Loop) { IsBackground = true, Name = name };
        thread.Start();
    }

    /// <summary>The managed id of the I/O thread, so code can tell whether it already runs there.</summary>
    public int ThreadId => thread.ManagedThreadId;

    public void Schedule(IoWork work)
    {
        if (!work.TryMarkScheduled())
        {
            return;
        }

        ready.Enqueue(work);

        // The loop announces it is about to sleep before its last look at the queue, so a wake-up is needed only then.
        if (Volatile.Read(ref sleeping) != 0)
        {
            Ring();
        }
    }

    /// <summary>
    /// Parks the I/O thread between two pieces of work (a request boundary: no device is in the middle of a request) and
    /// returns once it is parked, or false when it did not park within <paramref name="timeout"/>. Work scheduled and
    /// descriptors that become readable meanwhile wait for <see cref="Resume"/>. The machine's pause calls this.
    /// </summary>
    public bool Quiesce(TimeSpan timeout)
    {
        if (thread.ManagedThreadId == Environment.CurrentManagedThreadId || stopping)
        {
            return true;
        }

        resumed.Reset();
        quiesceRequested = true;
        Ring();
        return parked.Wait(timeout);
    }

    /// <summary>Lets a quiesced I/O thread go on with what was scheduled while it was parked.</summary>
    public void Resume()
    {
        quiesceRequested = false;
        resumed.Set();
    }

    /// <summary>Runs <paramref name="onReadable"/> on the I/O thread whenever <paramref name="fd"/> becomes readable (level-triggered).</summary>
    public void Watch(int fd, IoWork onReadable) => Watch(fd, onReadable, IoReadiness.Readable);

    /// <summary>
    /// Runs <paramref name="onReady"/> on the I/O thread whenever <paramref name="fd"/> is ready as <paramref name="interest"/>
    /// says (level-triggered), or has hung up or failed (epoll always reports those): the work finds out which by trying.
    /// </summary>
    public void Watch(int fd, IoWork onReady, IoReadiness interest)
    {
        if (!descriptors.TryAdd(fd, onReady))
        {
            throw new InvalidOperationException($"descriptor {fd} is already watched by the I/O thread.");
        }

        AddToEpoll(fd, interest);
    }

    /// <summary>Changes what a watched descriptor is watched for (a socket that now has bytes waiting to be written).</summary>
    public void ChangeWatch(int fd, IoReadiness interest)
    {
        if (disposed || !descriptors.ContainsKey(fd))
        {
            return;
        }

        var registration = new Epoll.EpollEvent { Events = EpollEvents(interest), Data = (ulong)fd };
        if (Epoll.epoll_ctl(epoll, Epoll.EPOLL_CTL_MOD, fd, ref registration) != 0)
        {
            throw new Win32Exception($"epoll_ctl could not change the watch on descriptor {fd} (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}).");
        }
    }

    public void Unwatch(int fd)
    {
        // After Dispose the epoll descriptor is closed (its number may be reused): there is nothing left to remove from.
        if (descriptors.TryRemove(fd, out _) && !disposed)
        {
            var ignored = default(Epoll.EpollEvent);
            Epoll.epoll_ctl(epoll, Epoll.EPOLL_CTL_DEL, fd, ref ignored);
        }
    }

    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        stopping = true;
        resumed.Set();
        Ring();
        if (thread.ManagedThreadId != Environment.CurrentManagedThreadId)
        {
            thread.Join(TimeSpan.FromSeconds(5));
        }

        Epoll.close(doorbell);
        Epoll.close(epoll);
        resumed.Dispose();
        parked.Dispose();
    }

    private static uint EpollEvents(IoReadiness interest) =>
        ((interest & IoReadiness.Readable) != 0 ? Epoll.EPOLLIN : 0) | ((interest & IoReadiness.Writable) != 0 ? Epoll.EPOLLOUT : 0);

    private void AddToEpoll(int fd, IoReadiness interest = IoReadiness.Readable)
    {
        var registration = new Epoll.EpollEvent { Events = EpollEvents(interest), Data = (ulong)fd };
        if (Epoll.epoll_ctl(epoll, Epoll.EPOLL_CTL_ADD, fd, ref registration) != 0)
        {
            throw new Win32Exception($"epoll_ctl could not watch descriptor {fd} (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}).");
        }
    }

    private void Ring()
    {
        ulong one = 1;
        LibC.write(doorbell, in one, 8);
    }

    private unsafe void Loop()
    {
        var events = stackalloc Epoll.EpollEvent[MaxEventsPerWait];
        Span<byte> drain = stackalloc byte[8];
        while (!stopping)
        {
            if (quiesceRequested)
            {
                parked.Set();
                resumed.Wait();
                parked.Reset();
                continue;
            }

            RunReady();
            Volatile.Write(ref sleeping, 1);
            Interlocked.MemoryBarrier();
            int timeout = ready.IsEmpty ? -1 : 0;
            int count = Epoll.epoll_wait(epoll, events, MaxEventsPerWait, timeout);
            Volatile.Write(ref sleeping, 0);
            for (int index = 0; index < count; index++)
            {
                int fd = (int)events[index].Data;
                if (fd == doorbell)
                {
                    LibC.read(doorbell, drain, 8);
                }
                else if (descriptors.TryGetValue(fd, out var work))
                {
                    RunOne(work);
                }
            }
        }
    }

    private void RunReady()
    {
        while (!stopping && !quiesceRequested && ready.TryDequeue(out var work))
        {
            work.ClearScheduled();
            RunOne(work);
        }
    }

    private void RunOne(IoWork work)
    {
        try
        {
            work.Run();
        }
        catch (Exception exception)
        {
            // A device bug must not take the I/O thread (and every other device) down with it.
            log.Warn($"I/O thread: {work.GetType().Name} failed: {exception.Message}");
        }
    }
}

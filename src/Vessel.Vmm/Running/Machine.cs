using System.Runtime.CompilerServices;
using Vessel.Core.Accel;
using Vessel.Core.Bus;
using Vessel.Core.Interrupts;
using Vessel.Core.Logging;
using Vessel.Core.Memory;
using Vessel.Core.Time;
using Vessel.Devices.Io;

namespace Vessel.Vmm.Running;

/// <summary>
/// A built machine: memory, buses, devices, and the accelerator's VM with its vCPUs. <see cref="Run"/> gives each vCPU a
/// host thread and returns when a device, a vCPU or the host stops the machine.
/// </summary>
/// <remarks>
/// The lifecycle (Created -> Running &lt;-> Paused -> Stopped) has one owner, this class: <see cref="Start"/>,
/// <see cref="Pause"/>, <see cref="Resume"/> and <see cref="RequestStop"/> are its only transitions. A pause asks each
/// vCPU to leave Run() and parks it in its loop until resumed or stopped (never re-entering Run while paused), then stops
/// the device I/O thread at a request boundary and the guest's <see cref="VmClock"/>. Start, Pause and Resume are
/// serialized by a lock no vCPU holds while it runs; a stop takes no lock at all, so it stays safe from a signal handler.
/// </remarks>
public sealed class Machine : ISystemControl, IDisposable
{
    private readonly IAcceleratorVm vm;
    private readonly List<IVcpu> vcpus = [];
    private readonly List<IDisposable> ownedDevices = [];
    private readonly ManualResetEventSlim stopped = new(false);
    private readonly CancellationTokenSource stopping = new();
    private readonly Lock lifecycleLock = new();
    private readonly List<Thread> threads = [];

    /// <summary>Set while the machine may run; a pause resets it before asking the vCPUs to park.</summary>
    private readonly ManualResetEventSlim resumed = new(true);

    /// <summary>Set by a vCPU that parks or leaves, so a pause waiting for all of them looks again.</summary>
    private readonly ManualResetEventSlim parkedChanged = new(false);
    private volatile bool pauseRequested;
    private int parkedVcpus;
    private int liveVcpus;
    private volatile MachineState state = MachineState.Created;
    private IoEventLoop? ioThread;
    private readonly IMachineLog log;
    private StrongBox<MachineStop>? stop;

    internal Machine(GuestMemory memory, IAcceleratorVm vm, string acceleratorName, VmClock clock, IMachineLog log)
    {
        Memory = memory;
        Clock = clock;
        this.vm = vm;
        this.log = log;
        AcceleratorName = acceleratorName;
        Ports = new IoPortBus(log);
        Mmio = new MmioBus(log);
        Interrupts = new InterruptRouter(vm);
        Io = new MachineIo(Ports, Mmio, Metrics);
    }

    public GuestMemory Memory { get; }

    public IoPortBus Ports { get; }

    public MmioBus Mmio { get; }

    public InterruptRouter Interrupts { get; }

    public IVcpuIo Io { get; }

    /// <summary>Counters the metrics endpoint reports: vCPU I/O exits now, block and network traffic once those devices exist.</summary>
    public MachineMetrics Metrics { get; } = new();

    public string AcceleratorName { get; }

    public IReadOnlyList<IVcpu> Vcpus => vcpus;

    public IAcceleratorVm AcceleratorVm => vm;

    /// <summary>The guest's time, which stands still while the machine is paused.</summary>
    public VmClock Clock { get; }

    public MachineState State => stopped.IsSet ? MachineState.Stopped : state;

    /// <summary>How long a pause waits for every vCPU to park before it gives up and lets them run on.</summary>
    public static TimeSpan PauseTimeout { get; } = TimeSpan.FromSeconds(30);

    internal void AddVcpu(IVcpu vcpu) => vcpus.Add(vcpu);

    internal void Own(IDisposable device) => ownedDevices.Add(device);

    /// <summary>The device I/O thread, which a pause quiesces at a request boundary after the vCPUs park.</summary>
    internal void AttachIoThread(IoEventLoop thread) => ioThread = thread;

    /// <summary>How long <see cref="Run"/> waits, in all, for the vCPU threads to leave once the machine has stopped.</summary>
    public static readonly TimeSpan VcpuExitGrace = TimeSpan.FromSeconds(1);

    /// <summary>Whether the machine has stopped (or is stopping); set before any vCPU is told to leave.</summary>
    public bool IsStopped => stopped.IsSet;

    /// <summary>Cancelled when the machine stops, so that whatever a vCPU may wait on (console output) can give up.</summary>
    public CancellationToken Stopping => stopping.Token;

    /// <summary>
    /// Ends the machine; the first stop wins, and every vCPU is asked to leave its Run(). Safe from any thread and from a
    /// signal handler: it takes no lock a guest-driven thread can hold, and it never waits.
    /// </summary>
    public void RequestStop(MachineStop requested)
    {
        // Record the stop before kicking anyone: a vCPU that returns from Run() because of the kick must find the machine
        // already stopped, or it would take the kick for a stray one and run on (with its exit request spent).
        Interlocked.CompareExchange(ref stop, new StrongBox<MachineStop>(requested), null);
        stopped.Set();
        foreach (var vcpu in vcpus)
        {
            vcpu.RequestExit();
        }

        try
        {
            // Wakes parked vCPUs (they leave) and a pause waiting for them (it gives up).
            stopping.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // A stop that arrives after Dispose (a late signal) has nothing left to end.
        }
    }

    /// <summary>Runs every vCPU on its own thread until the machine stops, and says why it stopped.</summary>
    public MachineStop Run(CancellationToken cancellation = default)
    {
        using var registration = cancellation.Register(() => RequestStop(MachineStop.HostRequest()));
        Start();
        return WaitForStop();
    }

    /// <summary>Created -> Running: gives each vCPU its host thread and returns at once.</summary>
    public void Start()
    {
        lock (lifecycleLock)
        {
            if (State != MachineState.Created)
            {
                throw new MachineStateException($"The machine cannot start: it is {State}, and only a machine just built can start.");
            }

            state = MachineState.Running;
            foreach (var vcpu in vcpus)
            {
                var thread = new Thread(() => RunVcpu(vcpu), 16 << 20) { IsBackground = true, Name = $"vcpu{vcpu.Index}" };
                threads.Add(thread);
                Interlocked.Increment(ref liveVcpus);
                thread.Start();
            }
        }
    }

    /// <summary>
    /// Stops guest time and the I/O thread of a machine just built, before a snapshot's state is restored into it, so that
    /// nothing a restored device schedules runs before the machine is resumed.
    /// </summary>
    internal void HoldForRestore()
    {
        lock (lifecycleLock)
        {
            if (State != MachineState.Created)
            {
                throw new MachineStateException($"State can be restored only into a machine just built, not one that is {State}.");
            }

            Clock.Pause();
            if (ioThread != null && !ioThread.Quiesce(PauseTimeout))
            {
                throw new MachineStateException($"The new machine's I/O thread did not stop within {PauseTimeout.TotalSeconds:0} s for the restore.");
            }
        }
    }

    /// <summary>
    /// Created -> Paused, for a restored machine: gives each vCPU its host thread parked outside guest code, so a later
    /// <see cref="Resume"/> runs the guest from exactly the restored state.
    /// </summary>
    public void StartPaused()
    {
        lock (lifecycleLock)
        {
            if (State != MachineState.Created)
            {
                throw new MachineStateException($"The machine cannot start paused: it is {State}, and only a machine just built can start.");
            }

            Clock.Pause();
            ioThread?.Quiesce(PauseTimeout);
            resumed.Reset();
            pauseRequested = true;
            state = MachineState.Paused;
            foreach (var vcpu in vcpus)
            {
                var thread = new Thread(() => RunVcpu(vcpu), 16 << 20) { IsBackground = true, Name = $"vcpu{vcpu.Index}" };
                threads.Add(thread);
                Interlocked.Increment(ref liveVcpus);
                thread.Start();
            }
        }
    }

    /// <summary>
    /// Running -> Paused: every vCPU leaves Run() and parks, then the guest's clock stops; returns once all are parked.
    /// Pausing a paused machine does nothing; pausing one that is not running throws <see cref="MachineStateException"/>.
    /// </summary>
    public void Pause()
    {
        lock (lifecycleLock)
        {
            if (State == MachineState.Paused)
            {
                return;
            }

            if (State != MachineState.Running)
            {
                throw new MachineStateException($"The machine cannot pause: it is {State}, not running.");
            }

            resumed.Reset();
            pauseRequested = true;
            foreach (var vcpu in vcpus)
            {
                vcpu.RequestExit();
            }

            try
            {
                WaitUntilAllParked();
            }
            catch (Exception exception) when (exception is TimeoutException or OperationCanceledException)
            {
                pauseRequested = false;
                resumed.Set();
                throw new MachineStateException(exception is TimeoutException
                    ? $"The machine did not pause: a vCPU did not leave guest code within {PauseTimeout.TotalSeconds:0} s; it runs on."
                    : "The machine cannot pause: it stopped while pausing.");
            }

            // The vCPUs are parked, so no new request arrives; the I/O thread finishes the one in hand and waits.
            if (ioThread != null && !ioThread.Quiesce(PauseTimeout))
            {
                log.Warn($"the I/O thread did not reach a request boundary within {PauseTimeout.TotalSeconds:0} s of the pause; device I/O may go on while paused.");
            }

            Clock.Pause();
            state = MachineState.Paused;
        }
    }

    /// <summary>Paused -> Running: the guest's clock goes on from where it stopped and the parked vCPUs re-enter guest code.</summary>
    public void Resume()
    {
        lock (lifecycleLock)
        {
            if (State == MachineState.Running)
            {
                return;
            }

            if (State != MachineState.Paused)
            {
                throw new MachineStateException($"The machine cannot resume: it is {State}, not paused.");
            }

            Clock.Resume();
            ioThread?.Resume();
            state = MachineState.Running;
            pauseRequested = false;
            resumed.Set();
        }
    }

    private void WaitUntilAllParked()
    {
        long deadline = Environment.TickCount64 + (long)PauseTimeout.TotalMilliseconds;
        while (true)
        {
            parkedChanged.Reset();
            if (Volatile.Read(ref parkedVcpus) >= Volatile.Read(ref liveVcpus))
            {
                return;
            }

            long remaining = deadline - Environment.TickCount64;
            if (remaining <= 0 || !parkedChanged.Wait(TimeSpan.FromMilliseconds(remaining), stopping.Token))
            {
                throw new TimeoutException();
            }
        }
    }

    /// <summary>Waits outside Run() while a pause lasts; returns whether the machine stopped meanwhile.</summary>
    private bool ParkWhilePaused()
    {
        Interlocked.Increment(ref parkedVcpus);
        parkedChanged.Set();
        try
        {
            while (pauseRequested && !stopped.IsSet)
            {
                resumed.Wait(stopping.Token);
            }
        }
        catch (OperationCanceledException)
        {
            // The machine stopped while paused.
        }
        finally
        {
            Interlocked.Decrement(ref parkedVcpus);
        }

        return stopped.IsSet;
    }

    /// <summary>Waits for the machine to stop, joins its vCPU threads, and says why it stopped.</summary>
    public MachineStop WaitForStop()
    {
        stopped.Wait();

        // One grace period for all threads together, not one per thread: every vCPU was kicked at once, so they leave
        // together. A thread still inside a device call (a blocked host write) is a background thread and is left behind.
        long deadline = Environment.TickCount64 + (long)VcpuExitGrace.TotalMilliseconds;
        int stragglers = 0;
        foreach (var thread in threads)
        {
            if (!thread.Join(TimeSpan.FromMilliseconds(Math.Max(0, deadline - Environment.TickCount64))))
            {
                stragglers++;
            }
        }

        if (stragglers > 0)
        {
            log.Warn($"{stragglers} vCPU thread(s) did not leave their run loop within {VcpuExitGrace.TotalSeconds:0.#} s of the stop; ending without them.");
        }

        return Volatile.Read(ref stop)?.Value ?? MachineStop.HostRequest();
    }

    private void RunVcpu(IVcpu vcpu)
    {
        try
        {
            RunVcpuLoop(vcpu);
        }
        finally
        {
            Interlocked.Decrement(ref liveVcpus);
            parkedChanged.Set();
        }
    }

    private void RunVcpuLoop(IVcpu vcpu)
    {
        try
        {
            while (!stopped.IsSet)
            {
                if (pauseRequested)
                {
                    if (ParkWhilePaused())
                    {
                        return;
                    }

                    continue;
                }

                var exit = vcpu.Run();
                switch (exit.Reason)
                {
                    case VcpuExitReason.ExitRequested:
                        // A stop or pause is recorded before the kick, so the loop's checks cannot miss it; any other kick re-enters.
                        continue;
                    case VcpuExitReason.Shutdown:
                        RequestStop(MachineStop.Shutdown($"vCPU {vcpu.Index} shut down: {exit.Detail}"));
                        return;
                    case VcpuExitReason.Reset:
                        RequestStop(MachineStop.Reset());
                        return;
                    case VcpuExitReason.PowerOff:
                        RequestStop(MachineStop.PowerOff());
                        return;
                    default:
                        RequestStop(MachineStop.Failure($"vCPU {vcpu.Index} failed: {exit.Detail}"));
                        return;
                }
            }
        }
        catch (Exception exception)
        {
            RequestStop(MachineStop.Failure($"vCPU {vcpu.Index} failed: {exception}"));
        }
    }

    public void Dispose()
    {
        foreach (var device in ownedDevices)
        {
            device.Dispose();
        }

        // A vCPU thread left behind by Run (stuck in a host call) may still touch guest memory, its vCPU and the stop
        // events: freeing them under it would crash the process, so they are left to the process's exit instead.
        if (threads.Exists(thread => thread.IsAlive))
        {
            return;
        }

        vm.Dispose();
        Memory.Dispose();
        stopped.Dispose();
        stopping.Dispose();
        resumed.Dispose();
        parkedChanged.Dispose();
    }
}

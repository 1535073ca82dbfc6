using Vessel.Core.Accel;
using Vessel.Core.Bus;
using Vessel.Core.Interrupts;
using Vessel.Core.Logging;
using Vessel.Core.Memory;
using Vessel.Core.Time;

namespace Vessel.Vmm.Running;

/// <summary>
/// A built machine: memory, buses, devices, and the accelerator's VM with its vCPUs. <see cref="Run"/> gives each vCPU a
/// host thread and returns when a device, a vCPU or the host stops the machine.
/// </summary>
/// <remarks>
/// The lifecycle (Created -> Running &lt;-> Paused -> Stopped) has one owner, this class: <see cref="Start"/>,
/// <see cref="Pause"/>, <see cref="Resume"/> and <see cref="RequestStop"/> are its only transitions, taken under
/// <c>stateLock</c>. A pause asks each vCPU to leave Run() and parks it in <see cref="RunVcpu"/> until resumed or stopped
/// (never re-entering Run while paused), then stops the guest's <see cref="VmClock"/>.
/// </remarks>
public sealed class Machine : ISystemControl, IDisposable
{
    private readonly IAcceleratorVm vm;
    private readonly List<IVcpu> vcpus = [];
    private readonly List<IDisposable> ownedDevices = [];
    private readonly ManualResetEventSlim stopped = new(false);
    private readonly object stopLock = new();
    private readonly IMachineLog log;
    private readonly List<Thread> threads = [];
    private MachineStop? stop;
    private MachineState state = MachineState.Created;
    private bool pauseRequested;
    private int parkedVcpus;
    private int runningVcpus;

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

    public MachineState State
    {
        get
        {
            lock (stopLock)
            {
                return state;
            }
        }
    }

    /// <summary>How long a pause waits for every vCPU to park before it gives up and lets them run on.</summary>
    public static TimeSpan PauseTimeout { get; } = TimeSpan.FromSeconds(30);

    internal void AddVcpu(IVcpu vcpu) => vcpus.Add(vcpu);

    internal void Own(IDisposable device) => ownedDevices.Add(device);

    /// <summary>Ends the machine; the first stop wins, and every vCPU is asked to leave its Run().</summary>
    public void RequestStop(MachineStop requested)
    {
        lock (stopLock)
        {
            stop ??= requested;
            state = MachineState.Stopped;

            // Parked vCPUs wake to see the stop and leave; a pause waiting for them gives up.
            Monitor.PulseAll(stopLock);
        }

        foreach (var vcpu in vcpus)
        {
            vcpu.RequestExit();
        }

        stopped.Set();
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
        lock (stopLock)
        {
            if (state != MachineState.Created)
            {
                throw new MachineStateException($"The machine cannot start: it is {state}, and only a machine just built can start.");
            }

            state = MachineState.Running;
            foreach (var vcpu in vcpus)
            {
                var thread = new Thread(() => RunVcpu(vcpu), 16 << 20) { IsBackground = true, Name = $"vcpu{vcpu.Index}" };
                threads.Add(thread);
                runningVcpus++;
                thread.Start();
            }
        }
    }

    /// <summary>
    /// Running -> Paused: every vCPU leaves Run() and parks, then the guest's clock stops. Returns once all are parked.
    /// Pausing a paused machine does nothing; pausing one that is not running throws <see cref="MachineStateException"/>.
    /// </summary>
    public void Pause()
    {
        lock (stopLock)
        {
            if (state == MachineState.Paused)
            {
                return;
            }

            if (state != MachineState.Running)
            {
                throw new MachineStateException($"The machine cannot pause: it is {state}, not running.");
            }

            pauseRequested = true;
        }

        foreach (var vcpu in vcpus)
        {
            vcpu.RequestExit();
        }

        lock (stopLock)
        {
            long deadline = Environment.TickCount64 + (long)PauseTimeout.TotalMilliseconds;
            while (state == MachineState.Running && parkedVcpus < runningVcpus)
            {
                long remaining = deadline - Environment.TickCount64;
                if (remaining <= 0)
                {
                    pauseRequested = false;
                    Monitor.PulseAll(stopLock);
                    throw new MachineStateException($"The machine did not pause: {runningVcpus - parkedVcpus} vCPU(s) did not leave guest code within {PauseTimeout.TotalSeconds:0} s; it runs on.");
                }

                Monitor.Wait(stopLock, TimeSpan.FromMilliseconds(remaining));
            }

            if (state != MachineState.Running)
            {
                throw new MachineStateException($"The machine cannot pause: it became {state} while pausing.");
            }

            Clock.Pause();
            state = MachineState.Paused;
        }
    }

    /// <summary>Paused -> Running: the guest's clock goes on from where it stopped and the parked vCPUs re-enter guest code.</summary>
    public void Resume()
    {
        lock (stopLock)
        {
            if (state == MachineState.Running)
            {
                return;
            }

            if (state != MachineState.Paused)
            {
                throw new MachineStateException($"The machine cannot resume: it is {state}, not paused.");
            }

            Clock.Resume();
            pauseRequested = false;
            state = MachineState.Running;
            Monitor.PulseAll(stopLock);
        }
    }

    /// <summary>Waits for the machine to stop (joining its vCPU threads) and says why it stopped.</summary>
    public MachineStop WaitForStop()
    {
        stopped.Wait();
        foreach (var thread in threads)
        {
            if (!thread.Join(TimeSpan.FromSeconds(5)))
            {
                log.Warn($"{thread.Name} did not leave its run loop within 5 s of the stop.");
            }
        }

        lock (stopLock)
        {
            return stop ?? MachineStop.HostRequest();
        }
    }

    /// <summary>
    /// While a pause is asked for, waits here, outside Run(), until a resume or a stop. Returns whether the machine
    /// stopped. The first vCPU to park tells the pausing thread only when all have.
    /// </summary>
    private bool ParkWhilePaused()
    {
        lock (stopLock)
        {
            if (!pauseRequested || state == MachineState.Stopped)
            {
                return state == MachineState.Stopped;
            }

            parkedVcpus++;
            Monitor.PulseAll(stopLock);
            while (pauseRequested && state != MachineState.Stopped)
            {
                Monitor.Wait(stopLock);
            }

            parkedVcpus--;
            return state == MachineState.Stopped;
        }
    }

    private void RunVcpu(IVcpu vcpu)
    {
        try
        {
            RunVcpuLoop(vcpu);
        }
        finally
        {
            lock (stopLock)
            {
                runningVcpus--;
                Monitor.PulseAll(stopLock);
            }
        }
    }

    private void RunVcpuLoop(IVcpu vcpu)
    {
        try
        {
            while (true)
            {
                if (Volatile.Read(ref pauseRequested) && ParkWhilePaused())
                {
                    return;
                }

                if (stopped.IsSet)
                {
                    return;
                }

                var exit = vcpu.Run();
                switch (exit.Reason)
                {
                    case VcpuExitReason.ExitRequested:
                        if (stopped.IsSet)
                        {
                            return;
                        }

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

        vm.Dispose();
        Memory.Dispose();
        stopped.Dispose();
    }
}

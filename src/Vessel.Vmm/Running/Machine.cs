using System.Runtime.CompilerServices;
using Vessel.Core.Accel;
using Vessel.Core.Bus;
using Vessel.Core.Interrupts;
using Vessel.Core.Logging;
using Vessel.Core.Memory;

namespace Vessel.Vmm.Running;

/// <summary>
/// A built machine: memory, buses, devices, and the accelerator's VM with its vCPUs. <see cref="Run"/> gives each vCPU a
/// host thread and returns when a device, a vCPU or the host stops the machine.
/// </summary>
public sealed class Machine : ISystemControl, IDisposable
{
    private readonly IAcceleratorVm vm;
    private readonly List<IVcpu> vcpus = [];
    private readonly List<IDisposable> ownedDevices = [];
    private readonly ManualResetEventSlim stopped = new(false);
    private readonly CancellationTokenSource stopping = new();
    private readonly IMachineLog log;
    private readonly List<Thread> threads = [];
    private StrongBox<MachineStop>? stop;

    internal Machine(GuestMemory memory, IAcceleratorVm vm, string acceleratorName, IMachineLog log)
    {
        Memory = memory;
        this.vm = vm;
        this.log = log;
        AcceleratorName = acceleratorName;
        Ports = new IoPortBus(log);
        Mmio = new MmioBus(log);
        Interrupts = new InterruptRouter(vm);
        Io = new MachineIo(Ports, Mmio);
    }

    public GuestMemory Memory { get; }

    public IoPortBus Ports { get; }

    public MmioBus Mmio { get; }

    public InterruptRouter Interrupts { get; }

    public IVcpuIo Io { get; }

    public string AcceleratorName { get; }

    public IReadOnlyList<IVcpu> Vcpus => vcpus;

    public IAcceleratorVm AcceleratorVm => vm;

    internal void AddVcpu(IVcpu vcpu) => vcpus.Add(vcpu);

    internal void Own(IDisposable device) => ownedDevices.Add(device);

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
        foreach (var vcpu in vcpus)
        {
            var thread = new Thread(() => RunVcpu(vcpu), 16 << 20) { IsBackground = true, Name = $"vcpu{vcpu.Index}" };
            threads.Add(thread);
            thread.Start();
        }

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
            while (!stopped.IsSet)
            {
                var exit = vcpu.Run();
                switch (exit.Reason)
                {
                    case VcpuExitReason.ExitRequested:
                        // A stop is recorded before the kick, so this check cannot miss it; any other kick re-enters.
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
    }
}

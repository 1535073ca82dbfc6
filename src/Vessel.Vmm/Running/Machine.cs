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
    private readonly object stopLock = new();
    private readonly IMachineLog log;
    private MachineStop? stop;

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

    /// <summary>Ends the machine; the first stop wins, and every vCPU is asked to leave its Run().</summary>
    public void RequestStop(MachineStop requested)
    {
        lock (stopLock)
        {
            stop ??= requested;
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
        var threads = new List<Thread>();
        foreach (var vcpu in vcpus)
        {
            var thread = new Thread(() => RunVcpu(vcpu), 16 << 20) { IsBackground = true, Name = $"vcpu{vcpu.Index}" };
            threads.Add(thread);
            thread.Start();
        }

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

    private void RunVcpu(IVcpu vcpu)
    {
        try
        {
            while (true)
            {
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

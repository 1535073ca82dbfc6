using Vessel.Core.Accel;
using Vessel.Core.Logging;
using Vessel.Core.Memory;
using Vessel.Core.Time;

namespace Vessel.Vmm.Tests.Fakes;

/// <summary>An accelerator whose vCPUs run no guest code: Run() waits until asked to exit, counting entries, so tests can see the machine's loop.</summary>
public sealed class FakeAccelerator : IAccelerator
{
    public FakeVm? Vm { get; private set; }

    public string Name => "fake";

    public bool IsAvailable(out string reason)
    {
        reason = string.Empty;
        return true;
    }

    public IAcceleratorVm CreateVm(GuestMemory memory, AcceleratorVmOptions options, IMachineLog log) => Vm = new FakeVm(options.Clock);
}

public sealed class FakeVm(VmClock? clock) : IAcceleratorVm
{
    public List<FakeVcpu> Vcpus { get; } = [];

    public VmClock? Clock => clock;

    public IVcpu CreateVcpu(int index, IVcpuIo io)
    {
        var vcpu = new FakeVcpu(index);
        Vcpus.Add(vcpu);
        return vcpu;
    }

    public void SetIrqLine(int gsi, bool asserted)
    {
    }

    public void SendMsi(ulong address, uint data)
    {
    }

    public void Dispose()
    {
    }
}

public sealed class FakeVcpu(int index) : IVcpu
{
    private readonly SemaphoreSlim exitRequests = new(0);
    private int insideRun;
    private int entries;

    public int Index => index;

    /// <summary>Whether a thread is inside Run() now.</summary>
    public bool InsideRun => Volatile.Read(ref insideRun) != 0;

    public int Entries => Volatile.Read(ref entries);

    public void SetBootState(VcpuBootState state)
    {
    }

    public VcpuExit Run()
    {
        Interlocked.Increment(ref entries);
        Volatile.Write(ref insideRun, 1);
        exitRequests.Wait();
        Volatile.Write(ref insideRun, 0);
        return VcpuExit.ExitRequested();
    }

    public void RequestExit() => exitRequests.Release();

    public void Dispose() => exitRequests.Dispose();
}

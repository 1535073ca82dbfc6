using Vessel.Core.Memory;
using Vessel.Devices.Io;
using Vessel.Devices.Tests.Fakes;
using Vessel.Devices.Virtio;
using Vessel.Devices.Virtio.Transport;

namespace Vessel.Devices.Tests.Virtio;

/// <summary>One virtio device on its PCI transport over 16 MiB of guest RAM, with INTx wired, MSI recorded and a driver.</summary>
public sealed class VirtioTestBench : IDisposable
{
    public const byte InterruptLineGsi = 10;

    public VirtioTestBench(VirtioDevice device, IIoScheduler? scheduler = null, ulong memorySize = 16UL << 20)
    {
        Memory = GuestMemory.Create(memorySize);
        Function = new VirtioPciFunction(device, Memory, Msi, scheduler ?? new SynchronousIoScheduler(), Log);
        Function.ConnectInterruptPin(Line, InterruptLineGsi);
        Driver = new VirtioTestDriver(Function, Memory);
    }

    public GuestMemory Memory { get; }

    public FakeMsiSink Msi { get; } = new();

    public FakeInterruptLine Line { get; } = new();

    public RecordingMachineLog Log { get; } = new();

    public VirtioPciFunction Function { get; }

    public VirtioTestDriver Driver { get; }

    public void Dispose()
    {
        Function.ResetDevice();
        Memory.Dispose();
    }
}

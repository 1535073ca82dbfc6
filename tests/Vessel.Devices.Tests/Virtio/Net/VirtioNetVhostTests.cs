using Vessel.Core.Bus;
using Vessel.Core.Logging;
using Vessel.Core.Memory;
using Vessel.Devices.Pci;
using Vessel.Devices.Tests.Fakes;
using Vessel.Devices.Virtio;
using Vessel.Devices.Virtio.Net;
using Vessel.Devices.Virtio.Transport;

namespace Vessel.Devices.Tests.Virtio.Net;

/// <summary>
/// virtio-net with vhost=on behind the PCI transport under (fake) KVM: at DRIVER_OK the queues go to vhost-net with the
/// doorbells' ioeventfds as kicks and the MSI-X routes' irqfds as calls; a reset, a BAR move or a snapshot takes them back.
/// </summary>
public sealed class VirtioNetVhostTests : IDisposable
{
    private const ulong BarAddress = 0xE000_0000;
    private const int TapDescriptor = 77;
    private const ushort QueueSize = 16;

    private readonly GuestMemory memory = GuestMemory.Create(8UL << 20);
    private readonly FakeKernelIoEvents kernel = new();
    private readonly RecordingIoThread ioThread = new();
    private readonly RecordingVhostNet vhost = new(VhostNetDataPath.RingFeatures);
    private readonly FakeNetworkBackend backend = new(NetHeader.Size);
    private readonly VirtioNetDevice device;
    private readonly VirtioPciFunction function;
    private readonly VirtioTestDriver driver;

    public VirtioNetVhostTests()
    {
        device = new VirtioNetDevice(backend, [0x52, 0x54, 0, 0, 0, 1], NullMachineLog.Instance, "net0", QueueSize, new VhostNetDataPath(vhost, TapDescriptor, "net0"));
        function = new VirtioPciFunction(device, memory, new RecordingMsiSink(), ioThread, NullMachineLog.Instance, kernel);
        var root = new PciRootComplex(new MmioBus(NullMachineLog.Instance), new IoPortBus(NullMachineLog.Instance), NullMachineLog.Instance);
        root.Attach(1, function);
        function.AssignBar(0, BarAddress);
        driver = new VirtioTestDriver(function, memory);
    }

    public void Dispose() => memory.Dispose();

    [Fact]
    public void Driver_ok_hands_both_queues_to_vhost_net_with_the_doorbells_as_kicks_and_the_vectors_irqfds_as_calls()
    {
        driver.Start(NetFeature.MergeableReceiveBuffers, QueueSize, msix: true);

        var doorbells = kernel.Registered.ToArray();
        Assert.Equal(2, doorbells.Length);
        int Call(int queue) => kernel.Routes[queue + 1].Descriptor;
        Assert.Contains($"kick 0 {doorbells[0].Descriptor}", vhost.Calls);
        Assert.Contains($"kick 1 {doorbells[1].Descriptor}", vhost.Calls);
        Assert.Contains($"call 0 {Call(0)}", vhost.Calls);
        Assert.Contains($"call 1 {Call(1)}", vhost.Calls);
        Assert.Contains($"features 0x{VirtioFeature.Version1 | NetFeature.MergeableReceiveBuffers:x}", vhost.Calls);
        Assert.Contains("num 0 16", vhost.Calls);
        Assert.Equal(["backend 0 77", "backend 1 77"], vhost.Calls.TakeLast(2));
        Assert.True(device.KernelDataPathRunning);
    }

    [Fact]
    public void While_vhost_serves_the_queues_the_io_thread_stops_watching_the_doorbells_and_the_tap()
    {
        driver.Start(0, QueueSize, msix: true);

        Assert.Empty(ioThread.Watched);
        Assert.False(backend.ReceiveInterest);
        Assert.All(kernel.Registered, doorbell => Assert.Equal(1UL, doorbell.Count));
    }

    [Fact]
    public void A_doorbell_wake_up_queued_before_the_hand_over_leaves_the_kick_for_the_kernel()
    {
        driver.Start(0, QueueSize, msix: true);
        var transmitDoorbell = kernel.Registered.ToArray()[1];
        var queuedWakeUp = ioThread.WatchHistory.Single(watch => watch.Fd == transmitDoorbell.Descriptor).Work;
        Assert.Empty(ioThread.Watched);
        ioThread.Scheduled.Clear();

        queuedWakeUp.Run();

        Assert.Equal(1UL, transmitDoorbell.Count);
        Assert.Empty(ioThread.Scheduled);
    }

    [Fact]
    public void Ring_addresses_given_to_vhost_are_the_host_addresses_of_the_drivers_rings()
    {
        driver.Start(0, QueueSize, msix: true);

        var receive = driver.Queues[0];
        Assert.True(memory.TryGetHostAddress(receive.Descriptors, 1, out nint descriptors));
        Assert.True(memory.TryGetHostAddress(receive.Used, 1, out nint used));
        Assert.True(memory.TryGetHostAddress(receive.Available, 1, out nint available));
        Assert.Contains($"addr 0 desc 0x{(ulong)descriptors:x} used 0x{(ulong)used:x} avail 0x{(ulong)available:x}", vhost.Calls);
    }

    [Fact]
    public void A_device_reset_detaches_the_tap_and_reads_back_each_ring_base()
    {
        driver.Start(0, QueueSize, msix: true);
        vhost.Calls.Clear();

        driver.WriteStatus(VirtioDeviceStatus.Reset);

        Assert.Equal(["backend 0 -1", "backend 1 -1", "get-base 0", "get-base 1"], vhost.Calls);
        Assert.False(device.KernelDataPathRunning);
    }

    [Fact]
    public void A_snapshot_takes_the_queues_back_first_so_the_saved_positions_are_the_kernels()
    {
        driver.Start(0, QueueSize, msix: true);
        vhost.Advance(1, 5);
        memory.Write(driver.Queues[1].Used + 2UL, (ushort)5);

        function.SaveState(new Vessel.Core.Snapshots.StateWriter());

        Assert.False(device.KernelDataPathRunning);
        Assert.Equal(5, function.Queues[1].NextAvailable);
        Assert.Equal(5, function.Queues[1].NextUsed);
        Assert.True(backend.ReceiveInterest);
        Assert.Equal(2, ioThread.Watched.Count);
    }

    [Fact]
    public void Without_msi_x_the_queues_stay_with_vessel()
    {
        driver.Start(0, QueueSize, msix: false);

        Assert.DoesNotContain(vhost.Calls, call => call.StartsWith("backend", StringComparison.Ordinal));
        Assert.False(device.KernelDataPathRunning);
        Assert.Equal(2, ioThread.Watched.Count);
    }
}

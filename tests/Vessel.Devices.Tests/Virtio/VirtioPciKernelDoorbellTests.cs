using System.Buffers.Binary;
using Vessel.Core.Bus;
using Vessel.Core.Logging;
using Vessel.Core.Memory;
using Vessel.Devices.Pci;
using Vessel.Devices.Tests.Fakes;
using Vessel.Devices.Virtio;
using Vessel.Devices.Virtio.Entropy;
using Vessel.Devices.Virtio.Transport;

namespace Vessel.Devices.Tests.Virtio;

/// <summary>
/// The virtio PCI transport with in-kernel doorbells (KVM ioeventfds): registered at the BAR's notify window while the
/// driver runs, moved with the BAR, dropped on reset and teardown, and watched by the I/O thread.
/// </summary>
public sealed class VirtioPciKernelDoorbellTests : IDisposable
{
    private const ulong BarAddress = 0xE000_0000;
    private const ulong MovedBarAddress = 0xE010_0000;

    private readonly GuestMemory memory = GuestMemory.Create(1 << 20);
    private readonly FakeKernelIoEvents kernel = new();
    private readonly RecordingIoThread ioThread = new();
    private readonly VirtioPciFunction function;

    public VirtioPciKernelDoorbellTests()
    {
        function = new VirtioPciFunction(new VirtioEntropyDevice(), memory, new RecordingMsiSink(), ioThread, NullMachineLog.Instance, kernel);
        var root = new PciRootComplex(new MmioBus(NullMachineLog.Instance), new IoPortBus(NullMachineLog.Instance), NullMachineLog.Instance);
        root.Attach(1, function);
        function.AssignBar(0, BarAddress);
    }

    public void Dispose() => memory.Dispose();

    [Fact]
    public void No_doorbell_is_registered_before_the_driver_is_running()
    {
        Assert.Empty(kernel.Events);
        Assert.Empty(function.KernelDoorbells);
    }

    [Fact]
    public void Driver_ok_registers_a_two_byte_doorbell_per_queue_at_the_notify_window_and_the_io_thread_watches_it()
    {
        StartDriver();

        var doorbell = Assert.Single(kernel.Registered);
        Assert.Equal(BarAddress + VirtioPciFunction.NotifyOffset, doorbell.Address.Value);
        Assert.Equal(VirtioPciFunction.NotifyWriteLength, doorbell.Length);
        Assert.Equal([doorbell.Address], function.KernelDoorbells);
        Assert.True(ioThread.Watched.ContainsKey(doorbell.Descriptor));
    }

    [Fact]
    public void The_io_thread_drains_the_doorbell_when_it_fires()
    {
        StartDriver();
        var doorbell = Assert.Single(kernel.Registered);
        doorbell.Count = 3;

        ioThread.Watched[doorbell.Descriptor].Run();

        Assert.Equal(0UL, doorbell.Count);
    }

    [Fact]
    public void Moving_the_bar_moves_the_doorbells_and_serves_every_queue_once()
    {
        StartDriver();
        var old = Assert.Single(kernel.Registered);
        ioThread.Scheduled.Clear();

        MoveBar(MovedBarAddress);

        Assert.True(old.Disposed);
        Assert.False(ioThread.Watched.ContainsKey(old.Descriptor));
        var moved = Assert.Single(kernel.Registered);
        Assert.Equal(MovedBarAddress + VirtioPciFunction.NotifyOffset, moved.Address.Value);
        Assert.True(ioThread.Watched.ContainsKey(moved.Descriptor));
        Assert.Single(ioThread.Scheduled);
    }

    [Fact]
    public void Turning_memory_decoding_off_drops_the_doorbells()
    {
        StartDriver();

        function.WriteConfiguration(PciConfigurationRegister.Command, [0, 0]);

        Assert.Empty(kernel.Registered);
        Assert.Empty(ioThread.Watched);
    }

    [Fact]
    public void A_device_reset_drops_the_doorbells_and_the_next_driver_ok_registers_them_again()
    {
        StartDriver();

        WriteStatus(VirtioDeviceStatus.Reset);
        Assert.Empty(kernel.Registered);
        Assert.Empty(ioThread.Watched);

        StartDriver();
        Assert.Single(kernel.Registered);
    }

    [Fact]
    public void Disposing_the_function_drops_doorbells_and_msi_routes()
    {
        StartDriver();

        function.Dispose();

        Assert.Empty(kernel.Registered);
        Assert.Empty(ioThread.Watched);
        Assert.NotEmpty(kernel.Routes);
        Assert.All(kernel.Routes, route => Assert.True(route.Disposed));
    }

    [Fact]
    public void Every_msi_x_vector_gets_a_kernel_route()
    {
        Assert.Equal(function.Msix.VectorCount, function.Msix.KernelRouteCount);
    }

    [Fact]
    public void A_write_of_another_width_to_the_notify_window_still_schedules_the_queue()
    {
        StartDriver();
        ioThread.Scheduled.Clear();

        function.Bar.Registers.Write(VirtioPciFunction.NotifyOffset, [0, 0, 0, 0]);

        Assert.Single(ioThread.Scheduled);
    }

    private void StartDriver()
    {
        WriteStatus(VirtioDeviceStatus.Acknowledge | VirtioDeviceStatus.Driver);
        WriteCommon(CommonConfigurationRegister.DriverFeatureSelect, 1);
        WriteCommon(CommonConfigurationRegister.DriverFeature, (uint)(VirtioFeature.Version1 >> 32));
        WriteStatus(VirtioDeviceStatus.Acknowledge | VirtioDeviceStatus.Driver | VirtioDeviceStatus.FeaturesOk);
        WriteStatus(VirtioDeviceStatus.Acknowledge | VirtioDeviceStatus.Driver | VirtioDeviceStatus.FeaturesOk | VirtioDeviceStatus.DriverOk);
        Assert.Equal(VirtioDeviceStatus.DriverOk, function.Status & VirtioDeviceStatus.DriverOk);
    }

    private void WriteStatus(VirtioDeviceStatus status) =>
        function.Bar.Registers.Write(VirtioPciFunction.CommonConfigurationOffset + CommonConfigurationRegister.DeviceStatus, [(byte)status]);

    private void WriteCommon(int register, uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        function.Bar.Registers.Write(VirtioPciFunction.CommonConfigurationOffset + (ulong)register, bytes);
    }

    private void MoveBar(ulong address)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, address);
        function.WriteConfiguration(PciConfigurationRegister.BaseAddress0, bytes);
    }
}

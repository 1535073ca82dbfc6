using System.Buffers.Binary;
using Vessel.Core.Bus;
using Vessel.Core.Logging;
using Vessel.Devices.Pci;
using Vessel.Devices.Tests.Fakes;
using Vessel.Devices.Virtio;
using Vessel.Devices.Virtio.Entropy;
using Vessel.Devices.Virtio.Queues;
using Vessel.Devices.Virtio.Transport;

namespace Vessel.Devices.Tests.Virtio;

public sealed class VirtioPciTransportTests : IDisposable
{
    private readonly VirtioTestBench bench = new(new VirtioEntropyDevice());

    private VirtioTestDriver Driver => bench.Driver;

    public void Dispose() => bench.Dispose();

    [Fact]
    public void The_function_is_a_modern_virtio_device_of_its_type()
    {
        var identity = bench.Function.Identity;

        Assert.Equal(0x1AF4, identity.VendorId);
        Assert.Equal(0x1040 + (int)VirtioDeviceType.Entropy, identity.DeviceId);
        Assert.Equal(1, identity.RevisionId);
        var bar = Assert.Single(bench.Function.Bars, bar => bar != null);
        Assert.Equal(PciBarKind.Memory64, bar!.Kind);
    }

    [Fact]
    public void The_device_offers_version_1_indirect_descriptors_and_event_idx()
    {
        ulong offered = Driver.ReadDeviceFeatures();

        Assert.NotEqual(0UL, offered & VirtioFeature.Version1);
        Assert.NotEqual(0UL, offered & VirtioFeature.RingIndirectDescriptors);
        Assert.NotEqual(0UL, offered & VirtioFeature.RingEventIndex);
        Driver.WriteCommon32(CommonConfigurationRegister.DeviceFeatureSelect, 2);
        Assert.Equal(0u, Driver.ReadCommon32(CommonConfigurationRegister.DeviceFeature));
    }

    [Fact]
    public void Features_ok_sticks_for_offered_features_with_version_1()
    {
        Assert.True(Driver.Negotiate(VirtioFeature.Version1 | VirtioFeature.RingEventIndex));

        Assert.Equal(VirtioFeature.Version1 | VirtioFeature.RingEventIndex, bench.Function.NegotiatedFeatures);
    }

    [Fact]
    public void Features_ok_is_refused_without_version_1()
    {
        Assert.False(Driver.Negotiate(VirtioFeature.RingIndirectDescriptors));

        Assert.Equal(VirtioDeviceStatus.Acknowledge | VirtioDeviceStatus.Driver, Driver.Status);
    }

    [Fact]
    public void Features_ok_is_refused_for_a_feature_the_device_did_not_offer()
    {
        ulong unoffered = 1UL << 0;
        Assert.Equal(0UL, Driver.ReadDeviceFeatures() & unoffered);

        Assert.False(Driver.Negotiate(VirtioFeature.Version1 | unoffered));
    }

    [Fact]
    public void Driver_features_are_frozen_once_features_ok_is_set()
    {
        Assert.True(Driver.Negotiate(VirtioFeature.Version1));

        Driver.WriteDriverFeatures(VirtioFeature.Version1 | VirtioFeature.RingEventIndex);

        Assert.Equal(VirtioFeature.Version1, bench.Function.NegotiatedFeatures);
    }

    [Fact]
    public void Queue_configuration_is_ignored_once_the_queue_is_enabled()
    {
        Assert.True(Driver.Negotiate(VirtioFeature.Version1));
        var queue = Driver.SetUpQueue(0, 16);

        Driver.WriteCommon16(CommonConfigurationRegister.QueueSize, 4);
        Driver.WriteCommon64(CommonConfigurationRegister.QueueDescriptor, 0x20_0000);
        Driver.WriteCommon64(CommonConfigurationRegister.QueueDriver, 0x21_0000);
        Driver.WriteCommon64(CommonConfigurationRegister.QueueDevice, 0x22_0000);
        Driver.WriteCommon16(CommonConfigurationRegister.QueueEnable, 0);

        Assert.Equal(16, Driver.ReadCommon16(CommonConfigurationRegister.QueueSize));
        Assert.Equal(queue.Descriptors.Value, Driver.ReadCommon64(CommonConfigurationRegister.QueueDescriptor));
        Assert.Equal(queue.Available.Value, Driver.ReadCommon64(CommonConfigurationRegister.QueueDriver));
        Assert.Equal(queue.Used.Value, Driver.ReadCommon64(CommonConfigurationRegister.QueueDevice));
        Assert.Equal(1, Driver.ReadCommon16(CommonConfigurationRegister.QueueEnable));
    }

    [Fact]
    public void A_queue_select_past_the_queues_reads_zero_size_and_ignores_writes()
    {
        Driver.WriteCommon16(CommonConfigurationRegister.QueueSelect, 7);
        Driver.WriteCommon16(CommonConfigurationRegister.QueueSize, 8);
        Driver.WriteCommon16(CommonConfigurationRegister.QueueEnable, 1);

        Assert.Equal(0, Driver.ReadCommon16(CommonConfigurationRegister.QueueSize));
        Assert.Equal(0, Driver.ReadCommon16(CommonConfigurationRegister.QueueEnable));
        Driver.WriteCommon16(CommonConfigurationRegister.QueueSelect, 0);
        Assert.Equal(256, Driver.ReadCommon16(CommonConfigurationRegister.QueueSize));
    }

    [Fact]
    public void An_msix_vector_past_the_table_reads_back_as_no_vector()
    {
        int vectors = bench.Function.Msix.VectorCount;

        Driver.WriteCommon16(CommonConfigurationRegister.ConfigurationMsixVector, (ushort)vectors);
        Driver.WriteCommon16(CommonConfigurationRegister.QueueMsixVector, 0x7FF);

        Assert.Equal(SplitVirtqueue.NoVector, Driver.ReadCommon16(CommonConfigurationRegister.ConfigurationMsixVector));
        Assert.Equal(SplitVirtqueue.NoVector, Driver.ReadCommon16(CommonConfigurationRegister.QueueMsixVector));

        Driver.WriteCommon16(CommonConfigurationRegister.ConfigurationMsixVector, (ushort)(vectors - 1));
        Driver.WriteCommon16(CommonConfigurationRegister.QueueMsixVector, 0);
        Assert.Equal(vectors - 1, Driver.ReadCommon16(CommonConfigurationRegister.ConfigurationMsixVector));
        Assert.Equal(0, Driver.ReadCommon16(CommonConfigurationRegister.QueueMsixVector));
    }

    [Fact]
    public void Writing_zero_to_device_status_resets_everything()
    {
        Driver.Start(VirtioFeature.RingEventIndex, size: 16, msix: true);
        var queue = Driver.Queues[0];
        queue.AddChain((Driver.Allocate(32), 32, true));
        Driver.Notify(0);
        Assert.Equal(1, queue.UsedIndex);

        Driver.WriteStatus(VirtioDeviceStatus.Reset);

        Assert.Equal(VirtioDeviceStatus.Reset, Driver.Status);
        Assert.Equal(0UL, bench.Function.NegotiatedFeatures);
        Assert.Equal(SplitVirtqueue.NoVector, Driver.ReadCommon16(CommonConfigurationRegister.ConfigurationMsixVector));
        Assert.Equal(0, Driver.ReadCommon16(CommonConfigurationRegister.QueueSelect));
        Assert.Equal(256, Driver.ReadCommon16(CommonConfigurationRegister.QueueSize));
        Assert.Equal(0, Driver.ReadCommon16(CommonConfigurationRegister.QueueEnable));
        Assert.Equal(SplitVirtqueue.NoVector, Driver.ReadCommon16(CommonConfigurationRegister.QueueMsixVector));
        Assert.Equal(0UL, Driver.ReadCommon64(CommonConfigurationRegister.QueueDescriptor));
        Assert.Equal(0UL, Driver.ReadCommon64(CommonConfigurationRegister.QueueDriver));
        Assert.Equal(0UL, Driver.ReadCommon64(CommonConfigurationRegister.QueueDevice));
        Assert.Equal(0, bench.Function.Queues[0].NextAvailable);
        Assert.Equal(0, bench.Function.Queues[0].NextUsed);
    }

    [Fact]
    public void After_a_reset_the_driver_can_set_the_device_up_again_and_use_it()
    {
        Driver.Start(size: 16);
        Driver.Queues[0].Publish(200);
        Driver.Notify(0);
        Assert.NotEqual((VirtioDeviceStatus)0, Driver.Status & VirtioDeviceStatus.DeviceNeedsReset);

        Driver.Start(size: 8);
        var queue = Driver.Queues[0];
        queue.AddChain((Driver.Allocate(16), 16, true));
        Driver.Notify(0);

        Assert.Equal(0, (int)(Driver.Status & VirtioDeviceStatus.DeviceNeedsReset));
        Assert.Equal(1, queue.UsedIndex);
    }

    [Fact]
    public void A_broken_queue_sets_device_needs_reset_and_sends_the_configuration_msi()
    {
        Driver.Start(size: 16, msix: true);
        int before = bench.Msi.Messages.Count;
        byte generation = Driver.ReadCommon8(CommonConfigurationRegister.ConfigurationGeneration);

        Driver.Queues[0].Publish(16);
        Driver.Notify(0);

        Assert.NotEqual((VirtioDeviceStatus)0, Driver.Status & VirtioDeviceStatus.DeviceNeedsReset);
        Assert.Equal((0xFEE0_0000UL, 0x30u), bench.Msi.Messages[before]);
        Assert.NotEqual(generation, Driver.ReadCommon8(CommonConfigurationRegister.ConfigurationGeneration));
        Assert.Contains(bench.Log.Warnings, warning => warning.Contains("needs a reset"));
    }

    [Fact]
    public void A_broken_queue_without_msix_raises_the_configuration_bit_of_the_isr_on_intx()
    {
        Driver.Start(size: 16);

        Driver.Queues[0].SetAvailableIndex(100);
        Driver.Notify(0);

        Assert.True(bench.Line.Asserted);
        Assert.Equal(2, Driver.ReadInterruptStatus());
        Assert.NotEqual((VirtioDeviceStatus)0, Driver.Status & VirtioDeviceStatus.DeviceNeedsReset);
    }

    [Fact]
    public void A_device_that_needs_a_reset_serves_nothing_more()
    {
        Driver.Start(size: 16);
        var queue = Driver.Queues[0];
        queue.AddChain((Driver.Allocate(16), 16, true), (Driver.Allocate(16), 16, false));
        Driver.Notify(0);
        Assert.NotEqual((VirtioDeviceStatus)0, Driver.Status & VirtioDeviceStatus.DeviceNeedsReset);
        Assert.Equal(0, queue.UsedIndex);

        queue.AddChain((Driver.Allocate(16), 16, true));
        Driver.Notify(0);

        Assert.Equal(0, queue.UsedIndex);
    }

    [Fact]
    public void Rings_that_are_not_usable_at_driver_ok_set_device_needs_reset_and_send_the_configuration_msi()
    {
        Assert.True(Driver.Negotiate(VirtioFeature.Version1));
        Driver.EnableMsix();
        Driver.WriteCommon16(CommonConfigurationRegister.ConfigurationMsixVector, 0);
        Driver.WriteCommon16(CommonConfigurationRegister.QueueSelect, 0);
        Driver.WriteCommon16(CommonConfigurationRegister.QueueSize, 16);
        Driver.WriteCommon64(CommonConfigurationRegister.QueueDescriptor, 0x10_0008);
        Driver.WriteCommon64(CommonConfigurationRegister.QueueDriver, 0x11_0000);
        Driver.WriteCommon64(CommonConfigurationRegister.QueueDevice, 0x12_0000);
        Driver.WriteCommon16(CommonConfigurationRegister.QueueEnable, 1);

        Driver.DriverOk();

        Assert.NotEqual((VirtioDeviceStatus)0, Driver.Status & VirtioDeviceStatus.DeviceNeedsReset);
        Assert.Contains(bench.Log.Warnings, warning => warning.Contains("aligned"));
        Assert.Equal([(0xFEE0_0000UL, 0x30u)], bench.Msi.Messages);
    }

    [Fact]
    public void Reading_the_isr_returns_the_queue_bit_once_and_deasserts_intx()
    {
        Driver.Start(size: 16);
        var queue = Driver.Queues[0];
        queue.AddChain((Driver.Allocate(16), 16, true));

        Driver.Notify(0);

        Assert.True(bench.Line.Asserted);
        Assert.Equal(1, Driver.ReadInterruptStatus());
        Assert.False(bench.Line.Asserted);
        Assert.Equal(0, Driver.ReadInterruptStatus());
    }

    [Fact]
    public void With_msix_enabled_a_used_buffer_sends_the_queue_vector_and_leaves_intx_alone()
    {
        Driver.Start(size: 16, msix: true);
        var queue = Driver.Queues[0];
        queue.AddChain((Driver.Allocate(16), 16, true));

        Driver.Notify(0);

        Assert.Equal([(0xFEE0_0000UL, 0x31u)], bench.Msi.Messages);
        Assert.False(bench.Line.Asserted);
        Assert.Equal(0, Driver.ReadInterruptStatus());
    }

    [Fact]
    public void A_queue_with_no_vector_under_msix_sends_nothing()
    {
        Assert.True(Driver.Negotiate(VirtioFeature.Version1));
        Driver.EnableMsix();
        var queue = Driver.SetUpQueue(0, 16);
        Driver.DriverOk();
        queue.AddChain((Driver.Allocate(16), 16, true));

        Driver.Notify(0);

        Assert.Equal(1, queue.UsedIndex);
        Assert.Empty(bench.Msi.Messages);
        Assert.False(bench.Line.Asserted);
    }

    [Fact]
    public void Doorbells_for_queues_that_do_not_exist_and_unmapped_bar_offsets_are_ignored()
    {
        Driver.Start(size: 16);

        Driver.Notify(5);
        Driver.Write(VirtioPciFunction.NotifyOffset + 0xFFE, [1, 2]);
        Driver.Write(VirtioPciFunction.BarSize - 4, [1, 2, 3, 4]);
        Driver.Write(VirtioPciFunction.InterruptStatusOffset, [0xFF]);

        Assert.Equal(new byte[4], Driver.Read(VirtioPciFunction.BarSize - 4, 4));
        Assert.Equal(new byte[8], Driver.Read(VirtioPciFunction.CommonConfigurationOffset + 0xFF8, 8));
        Assert.Equal(0, (int)(Driver.Status & VirtioDeviceStatus.DeviceNeedsReset));
    }

    [Fact]
    public void Notifies_before_driver_ok_are_not_served_and_driver_ok_serves_what_is_waiting()
    {
        Assert.True(Driver.Negotiate(VirtioFeature.Version1));
        var queue = Driver.SetUpQueue(0, 16);
        queue.AddChain((Driver.Allocate(16), 16, true));
        Driver.Notify(0);
        Assert.Equal(0, queue.UsedIndex);

        Driver.DriverOk();

        Assert.Equal(1, queue.UsedIndex);
    }

    [Fact]
    public void A_driver_reaches_the_transport_through_the_bar_where_the_root_complex_mapped_it()
    {
        var log = new RecordingMachineLog();
        var mmio = new MmioBus(log);
        var root = new PciRootComplex(mmio, new IoPortBus(log), log);
        root.Attach(4, bench.Function);
        const ulong placed = 0xC100_0000;
        bench.Function.AssignBar(0, placed);
        var driver = new VirtioTestDriver(bench.Function, bench.Memory, new BusWindow(mmio, placed));

        driver.Start(size: 16);
        var queue = driver.Queues[0];
        var buffer = driver.Allocate(64);
        queue.AddChain((buffer, 64, true));
        driver.Notify(0);

        Assert.Equal(placed, bench.Function.Bar.MappedAddress);
        Assert.Equal(((uint)0, 64u), queue.UsedElement(0));
        Assert.Equal(VirtioDeviceStatus.Acknowledge | VirtioDeviceStatus.Driver | VirtioDeviceStatus.FeaturesOk | VirtioDeviceStatus.DriverOk, driver.Status);
    }

    [Fact]
    public void Device_configuration_reads_past_its_size_return_zero()
    {
        Assert.Equal(new byte[4], Driver.ReadDeviceConfiguration(0, 4));
        Assert.Equal(new byte[2], Driver.ReadDeviceConfiguration(0xFFE, 2));
    }

    [Fact]
    public void The_notify_capability_announces_the_multiplier_the_doorbells_use()
    {
        var function = bench.Function;
        int offset = Capabilities(function).First(at => ConfigByte(function, at + 3) == (byte)VirtioPciCapabilityType.Notify);
        var body = new byte[20];
        function.ReadConfiguration(offset, body);

        Assert.Equal(20, body[2]);
        Assert.Equal(0, body[4]);
        Assert.Equal((uint)VirtioPciFunction.NotifyOffset, BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan(8)));
        Assert.Equal(VirtioPciFunction.NotifyOffsetMultiplier, BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan(16)));
        Assert.Equal(0, Driver.ReadCommon16(CommonConfigurationRegister.QueueNotifyOffset));
    }

    private static IEnumerable<int> Capabilities(PciFunction function)
    {
        int next = ConfigByte(function, PciConfigurationRegister.CapabilitiesPointer);
        while (next != 0)
        {
            yield return next;
            next = ConfigByte(function, next + 1);
        }
    }

    private static byte ConfigByte(PciFunction function, int offset)
    {
        var value = new byte[1];
        function.ReadConfiguration(offset, value);
        return value[0];
    }

    /// <summary>The BAR as the guest reaches it: through the MMIO bus at the address the BAR holds.</summary>
    private sealed class BusWindow(MmioBus bus, ulong at) : IBusDevice
    {
        public void Read(ulong offset, Span<byte> data) => bus.Read(at + offset, data);

        public void Write(ulong offset, ReadOnlySpan<byte> data) => bus.Write(at + offset, data);
    }
}

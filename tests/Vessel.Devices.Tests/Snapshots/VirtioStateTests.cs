using System.Buffers.Binary;
using System.Text;
using Vessel.Core.Memory;
using Vessel.Core.Snapshots;
using Vessel.Devices.Pci;
using Vessel.Devices.Tests.Fakes;
using Vessel.Devices.Tests.Virtio;
using Vessel.Devices.Virtio;
using Vessel.Devices.Virtio.Block;
using Vessel.Devices.Virtio.Console;
using Vessel.Devices.Virtio.Entropy;
using Vessel.Devices.Virtio.Net;

namespace Vessel.Devices.Tests.Snapshots;

public sealed class VirtioStateTests : IDisposable
{
    private const ushort QueueSize = 16;
    private const int DiskSize = 64 * 1024;

    private readonly List<IDisposable> benches = [];

    public void Dispose() => benches.ForEach(bench => bench.Dispose());

    [Fact]
    public void A_console_restored_elsewhere_saves_the_same_bytes_and_delivers_the_input_it_held()
    {
        var source = Bench(new VirtioConsoleDevice(new FakeSerialOutput()));
        var console = (VirtioConsoleDevice)source.Function.Device;
        source.Driver.Start(msix: true);
        var transmit = source.Driver.Queues[VirtioConsoleDevice.TransmitQueue];
        transmit.AddChain((source.Driver.Allocate("ready\n"u8), 6, false));
        source.Driver.Notify(VirtioConsoleDevice.TransmitQueue);
        console.EnqueueInput("abc"u8);
        byte[] saved = StateRoundTrip.Save(source.Function);

        var target = Bench(new VirtioConsoleDevice(new FakeSerialOutput()));
        CopyMemory(source.Memory, target.Memory);
        StateRoundTrip.AssertSameAfterRestore(saved, target.Function);

        Assert.Equal(1, target.Function.Queues[VirtioConsoleDevice.TransmitQueue].NextUsed);
        Assert.True(target.Function.Msix.Enabled);
        var receive = TestVirtqueue.At(target.Memory, QueueSize, VirtioTestDriver.RingBase);
        var buffer = new GuestAddress(0x80_0000);
        receive.AddChain((buffer, 16, true));
        target.Driver.Notify(VirtioConsoleDevice.ReceiveQueue);

        var (_, length) = Assert.Single(receive.TakeUsed());
        Assert.Equal("abc", Encoding.ASCII.GetString(target.Memory.GetSpan(buffer, (int)length)));
        Assert.NotEmpty(target.Msi.Messages);
    }

    [Fact]
    public void A_disk_restored_elsewhere_saves_the_same_bytes_and_serves_the_next_request()
    {
        var source = Bench(new VirtioBlockDevice(new InMemoryBlockBackend(DiskSize, readOnly: false), "disk", new RecordingMachineLog()));
        source.Driver.Start();
        var queue = source.Driver.Queues[0];
        SubmitRead(source, queue, sector: 1);
        byte[] saved = StateRoundTrip.Save(source.Function);

        var disk = new InMemoryBlockBackend(DiskSize, readOnly: false);
        disk.Data.AsSpan(5 * 512, 512).Fill(0x77);
        var target = Bench(new VirtioBlockDevice(disk, "disk", new RecordingMachineLog()));

        // A TestVirtqueue clears its rings when made, so it is made before the guest memory arrives.
        var continued = TestVirtqueue.At(target.Memory, QueueSize, VirtioTestDriver.RingBase);
        CopyMemory(source.Memory, target.Memory);
        StateRoundTrip.AssertSameAfterRestore(saved, target.Function);

        continued.SetAvailableIndex(1);
        Assert.Equal(1, continued.UsedIndex);
        Assert.Single(continued.TakeUsed());
        var data = SubmitRead(target, continued, sector: 5);
        Assert.All(target.Memory.GetSpan(data, 512).ToArray(), value => Assert.Equal(0x77, value));
    }

    [Fact]
    public void A_disk_of_another_size_is_refused_naming_both_sizes()
    {
        var source = Bench(new VirtioBlockDevice(new InMemoryBlockBackend(DiskSize, readOnly: false), "disk", new RecordingMachineLog()));
        source.Driver.Start();
        byte[] saved = StateRoundTrip.Save(source.Function);

        var target = Bench(new VirtioBlockDevice(new InMemoryBlockBackend(DiskSize * 2, readOnly: false), "disk", new RecordingMachineLog()));
        var exception = Assert.Throws<SnapshotFormatException>(() => StateRoundTrip.Restore(target.Function, saved));

        Assert.Contains($"{DiskSize / 512} sectors", exception.Message);
        Assert.Contains($"{DiskSize * 2 / 512}", exception.Message);
    }

    [Fact]
    public void An_entropy_device_restored_elsewhere_saves_the_same_bytes()
    {
        var source = Bench(new VirtioEntropyDevice());
        source.Driver.Start(VirtioFeature.RingEventIndex);
        byte[] saved = StateRoundTrip.Save(source.Function);

        var target = Bench(new VirtioEntropyDevice());
        StateRoundTrip.AssertSameAfterRestore(saved, target.Function);
    }

    [Fact]
    public void A_network_device_restored_elsewhere_keeps_the_frame_that_waited_for_a_buffer()
    {
        var backend = new FakeNetworkBackend();
        var source = Bench(new VirtioNetDevice(backend, Mac, new RecordingMachineLog()));
        source.Driver.Start(NetFeature.Mac | NetFeature.MergeableReceiveBuffers);
        byte[] frame = [.. Enumerable.Range(0, 60).Select(index => (byte)index)];
        backend.Arrive(frame);
        source.Driver.Notify(VirtioNetDevice.ReceiveQueue);
        byte[] saved = StateRoundTrip.Save(source.Function);

        var target = Bench(new VirtioNetDevice(new FakeNetworkBackend(), Mac, new RecordingMachineLog()));
        CopyMemory(source.Memory, target.Memory);
        StateRoundTrip.AssertSameAfterRestore(saved, target.Function);

        var receive = TestVirtqueue.At(target.Memory, QueueSize, VirtioTestDriver.RingBase);
        var buffer = new GuestAddress(0x80_0000);
        receive.AddChain((buffer, 2048, true));
        target.Driver.Notify(VirtioNetDevice.ReceiveQueue);

        var (_, length) = Assert.Single(receive.TakeUsed());
        Assert.Equal(frame, target.Memory.GetSpan(buffer + 12, (int)length - 12).ToArray());
    }

    [Fact]
    public void A_network_device_whose_backend_lacks_the_negotiated_offloads_is_refused()
    {
        var source = Bench(new VirtioNetDevice(new FakeNetworkBackend(12, NetFeature.TapOffloads), Mac, new RecordingMachineLog()));
        source.Driver.Start(NetFeature.Mac | NetFeature.GuestChecksum);
        byte[] saved = StateRoundTrip.Save(source.Function);

        var target = Bench(new VirtioNetDevice(new FakeNetworkBackend(), Mac, new RecordingMachineLog()));
        var exception = Assert.Throws<SnapshotFormatException>(() => StateRoundTrip.Restore(target.Function, saved));

        Assert.Contains("offers only", exception.Message);
    }

    [Fact]
    public void A_truncated_virtio_state_is_refused()
    {
        var source = Bench(new VirtioConsoleDevice(new FakeSerialOutput()));
        source.Driver.Start(msix: true);
        ((VirtioConsoleDevice)source.Function.Device).EnqueueInput("x"u8);
        byte[] saved = StateRoundTrip.Save(source.Function);

        StateRoundTrip.AssertTruncationRefused(saved, () => Bench(new VirtioConsoleDevice(new FakeSerialOutput())).Function);
    }

    [Fact]
    public void A_queue_whose_rings_lie_outside_guest_memory_is_refused()
    {
        var source = Bench(new VirtioEntropyDevice(), memorySize: 32UL << 20);
        source.Driver.Start();
        source.Function.Queues[0].Reset();
        source.Function.Queues[0].DescriptorTable = new GuestAddress(30UL << 20);
        source.Function.Queues[0].DriverArea = new GuestAddress(30UL << 20);
        source.Function.Queues[0].DeviceArea = new GuestAddress(30UL << 20);
        source.Function.Queues[0].Enable();
        Assert.True(source.Function.Queues[0].Activate(false));
        byte[] saved = StateRoundTrip.Save(source.Function);

        var target = Bench(new VirtioEntropyDevice(), memorySize: 16UL << 20);
        var exception = Assert.Throws<SnapshotFormatException>(() => StateRoundTrip.Restore(target.Function, saved));

        Assert.Contains("outside guest RAM", exception.Message);
    }

    private static readonly byte[] Mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

    private VirtioTestBench Bench(VirtioDevice device, ulong memorySize = 16UL << 20)
    {
        var bench = new VirtioTestBench(device, memorySize: memorySize);
        benches.Add(bench);
        return bench;
    }

    private static void CopyMemory(GuestMemory source, GuestMemory target) =>
        target.WriteBytes(new GuestAddress(0), source.GetSpan(new GuestAddress(0), (int)source.TotalSize));

    /// <summary>Submits a one-sector read through <paramref name="queue"/> and returns where the data landed.</summary>
    private static GuestAddress SubmitRead(VirtioTestBench bench, TestVirtqueue queue, ulong sector)
    {
        var header = new GuestAddress(0x90_0000 + (sector * 0x1000));
        var data = header + 0x100;
        var status = header + 0x400;
        var bytes = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, 0);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), sector);
        bench.Memory.WriteBytes(header, bytes);
        queue.AddChain((header, 16, false), (data, 512, true), (status, 1, true));
        bench.Driver.Notify(0);
        Assert.Single(queue.TakeUsed());
        Assert.Equal(0, bench.Memory.Read<byte>(status));
        return data;
    }
}

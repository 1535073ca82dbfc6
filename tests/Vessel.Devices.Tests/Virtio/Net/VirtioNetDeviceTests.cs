using System.Buffers.Binary;
using Vessel.Core.Logging;
using Vessel.Core.Memory;
using Vessel.Devices.Tests.Fakes;
using Vessel.Devices.Virtio;
using Vessel.Devices.Virtio.Net;

namespace Vessel.Devices.Tests.Virtio.Net;

public sealed class VirtioNetDeviceTests : IDisposable
{
    private const ushort QueueSize = 16;
    private static readonly byte[] Mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
    private static readonly GuestAddress Buffers = new(0x10_0000);

    private readonly GuestMemory memory = GuestMemory.Create(4UL << 20);
    private readonly VirtqueueDriver receive;
    private readonly VirtqueueDriver transmit;

    public VirtioNetDeviceTests()
    {
        receive = new VirtqueueDriver(memory, 0x1_0000, QueueSize);
        transmit = new VirtqueueDriver(memory, 0x2_0000, QueueSize);
    }

    public void Dispose() => memory.Dispose();

    [Fact]
    public void Configuration_holds_the_mac_and_link_up_and_features_add_the_backend_offloads()
    {
        var device = new VirtioNetDevice(new FakeNetworkBackend(12, NetFeature.TapOffloads), Mac, NullMachineLog.Instance);
        var config = new byte[device.ConfigurationSize];
        device.ReadConfiguration(0, config);

        Assert.Equal(VirtioDeviceType.Network, device.Type);
        Assert.Equal(Mac, config[..6]);
        Assert.Equal(VirtioNetDevice.LinkUp, BinaryPrimitives.ReadUInt16LittleEndian(config.AsSpan(6)));
        Assert.Equal(NetFeature.TapOffloads, device.DeviceFeatures & NetFeature.TapOffloads);
        Assert.NotEqual(0UL, device.DeviceFeatures & NetFeature.MergeableReceiveBuffers);
        Assert.NotEqual(0UL, device.DeviceFeatures & NetFeature.Mac);
    }

    [Fact]
    public void Transmit_strips_the_virtio_header_split_across_descriptors_and_sends_the_frame()
    {
        var backend = new FakeNetworkBackend();
        var (device, context) = Start(backend, NetFeature.Mac);
        byte[] frame = Pattern(100, seed: 7);
        memory.WriteBytes(Buffers, new byte[8]);
        memory.WriteBytes(Buffers + 0x1000, new byte[4]);
        memory.WriteBytes(Buffers + 0x2000, frame);
        transmit.Offer((Buffers, 8, false), (Buffers + 0x1000, 4, false), (Buffers + 0x2000, (uint)frame.Length, false));

        device.ProcessQueue(VirtioNetDevice.TransmitQueue);

        Assert.Equal(frame, Assert.Single(backend.Sent));
        Assert.Single(transmit.TakeUsed());
        Assert.Contains(VirtioNetDevice.TransmitQueue, context.Interrupts);
    }

    [Fact]
    public void Received_frame_lands_behind_a_header_with_one_buffer_and_data_valid_when_guest_csum_was_negotiated()
    {
        var backend = new FakeNetworkBackend(offloads: NetFeature.GuestChecksum);
        var (device, context) = Start(backend, NetFeature.MergeableReceiveBuffers | NetFeature.GuestChecksum);
        ushort head = receive.Offer((Buffers, 2048, true));
        byte[] frame = Pattern(600, seed: 3);

        backend.Arrive(frame);
        Assert.Equal([VirtioNetDevice.ReceiveQueue], context.Scheduled);
        device.ProcessQueue(VirtioNetDevice.ReceiveQueue);

        var used = Assert.Single(receive.TakeUsed());
        Assert.Equal((head, (uint)(NetHeader.Size + frame.Length)), used);
        var written = memory.GetSpan(Buffers, NetHeader.Size + frame.Length);
        Assert.Equal(NetHeader.FlagDataValid, written[0]);
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(written[NetHeader.NumBuffersOffset..]));
        Assert.Equal(frame, written[NetHeader.Size..].ToArray());
        Assert.True(backend.ReceiveInterest);
        Assert.Contains(VirtioNetDevice.ReceiveQueue, context.Interrupts);
    }

    [Fact]
    public void A_frame_larger_than_one_buffer_spans_mergeable_buffers_and_num_buffers_counts_them()
    {
        var backend = new FakeNetworkBackend();
        var (device, _) = Start(backend, NetFeature.MergeableReceiveBuffers);
        for (int index = 0; index < 4; index++)
        {
            receive.Offer((Buffers + (0x1000UL * (ulong)index), 1000, true));
        }

        byte[] frame = Pattern(2500, seed: 11);
        backend.Arrive(frame);
        device.ProcessQueue(VirtioNetDevice.ReceiveQueue);

        var used = receive.TakeUsed();
        Assert.Equal([(0u, 1000u), (1u, 1000u), (2u, (uint)(NetHeader.Size + frame.Length - 2000))], used);
        Assert.Equal(3, memory.Read<ushort>(Buffers + NetHeader.NumBuffersOffset));
        var received = new byte[NetHeader.Size + frame.Length];
        memory.ReadBytes(Buffers, received.AsSpan(0, 1000));
        memory.ReadBytes(Buffers + 0x1000, received.AsSpan(1000, 1000));
        memory.ReadBytes(Buffers + 0x2000, received.AsSpan(2000));
        Assert.Equal(frame, received[NetHeader.Size..]);
    }

    [Fact]
    public void A_frame_waits_while_the_guest_has_too_few_buffers_and_arrives_whole_once_it_adds_more()
    {
        var backend = new FakeNetworkBackend();
        var (device, _) = Start(backend, NetFeature.MergeableReceiveBuffers);
        receive.Offer((Buffers, 1000, true));
        byte[] frame = Pattern(1500, seed: 5);

        backend.Arrive(frame);
        device.ProcessQueue(VirtioNetDevice.ReceiveQueue);
        Assert.Empty(receive.TakeUsed());
        Assert.False(backend.ReceiveInterest);

        receive.Offer((Buffers + 0x1000, 1000, true));
        device.ProcessQueue(VirtioNetDevice.ReceiveQueue);

        Assert.Equal([(0u, 1000u), (1u, (uint)(NetHeader.Size + frame.Length - 1000))], receive.TakeUsed());
        Assert.Equal(2, memory.Read<ushort>(Buffers + NetHeader.NumBuffersOffset));
        Assert.True(backend.ReceiveInterest);
    }

    [Fact]
    public void Without_mergeable_buffers_a_frame_too_large_for_the_buffer_is_dropped_and_the_buffer_serves_the_next()
    {
        var backend = new FakeNetworkBackend();
        var log = new RecordingMachineLog();
        var (device, _) = Start(backend, NetFeature.Mac, log);
        receive.Offer((Buffers, 1000, true));
        byte[] small = Pattern(200, seed: 9);

        backend.Arrive(Pattern(1500, seed: 1));
        backend.Arrive(small);
        device.ProcessQueue(VirtioNetDevice.ReceiveQueue);

        Assert.Equal([(0u, (uint)(NetHeader.Size + small.Length))], receive.TakeUsed());
        Assert.Equal(small, memory.GetSpan(Buffers + NetHeader.Size, small.Length).ToArray());
        Assert.Equal(1, device.DroppedFrames);
        Assert.Single(log.Warnings);
    }

    [Fact]
    public void A_backend_with_its_own_virtio_header_gets_and_gives_the_offload_fields_unchanged()
    {
        var backend = new FakeNetworkBackend(NetHeader.Size, NetFeature.TapOffloads);
        var (device, _) = Start(backend, NetFeature.TapOffloads | NetFeature.MergeableReceiveBuffers);
        Assert.Equal(NetFeature.TapOffloads | NetFeature.MergeableReceiveBuffers, backend.NegotiatedOffloads & ~VirtioFeature.Version1);

        // A TSO frame from the guest: NEEDS_CSUM, GSO_TCPV4, hdr_len 54, gso_size 1448, csum_start 34, csum_offset 16.
        byte[] header = [1, 1, 54, 0, 0xA8, 0x05, 34, 0, 16, 0, 0, 0];
        byte[] payload = Pattern(3000, seed: 2);
        memory.WriteBytes(Buffers, header);
        memory.WriteBytes(Buffers + NetHeader.Size, payload);
        transmit.Offer((Buffers, (uint)(NetHeader.Size + payload.Length), false));
        device.ProcessQueue(VirtioNetDevice.TransmitQueue);
        Assert.Equal([.. header, .. payload], Assert.Single(backend.Sent));

        byte[] incomingHeader = [2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        byte[] incoming = [.. incomingHeader, .. Pattern(100, seed: 4)];
        receive.Offer((Buffers + 0x10000, 2048, true));
        backend.Arrive(incoming);
        device.ProcessQueue(VirtioNetDevice.ReceiveQueue);
        var written = memory.GetSpan(Buffers + 0x10000, incoming.Length).ToArray();
        Assert.Equal(incoming[..NetHeader.NumBuffersOffset], written[..NetHeader.NumBuffersOffset]);
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(written.AsSpan(NetHeader.NumBuffersOffset)));
        Assert.Equal(incoming[NetHeader.Size..], written[NetHeader.Size..]);
    }

    [Fact]
    public void Transmit_requests_shorter_than_the_header_or_with_writable_buffers_only_are_dropped()
    {
        var backend = new FakeNetworkBackend();
        var (device, context) = Start(backend, NetFeature.Mac, new RecordingMachineLog());
        transmit.Offer((Buffers, 6, false));
        transmit.Offer((Buffers, 64, true));

        device.ProcessQueue(VirtioNetDevice.TransmitQueue);

        Assert.Empty(backend.Sent);
        Assert.Equal(2, transmit.TakeUsed().Count);
        Assert.Equal(2, device.DroppedFrames);
        Assert.Null(context.Failure);
    }

    [Fact]
    public void Reset_forgets_the_waiting_frame_and_stops_listening_to_the_backend()
    {
        var backend = new FakeNetworkBackend();
        var (device, _) = Start(backend, NetFeature.Mac);
        backend.Arrive(Pattern(100, seed: 6));
        device.ProcessQueue(VirtioNetDevice.ReceiveQueue);

        device.Reset();

        Assert.False(backend.ReceiveInterest);
    }

    private (VirtioNetDevice Device, FakeVirtioContext Context) Start(FakeNetworkBackend backend, ulong features, IMachineLog? log = null)
    {
        var device = new VirtioNetDevice(backend, Mac, log ?? NullMachineLog.Instance, queueSize: QueueSize);
        var context = new FakeVirtioContext(memory, [receive.Queue, transmit.Queue], features | VirtioFeature.Version1);
        device.Activate(context);
        return (device, context);
    }

    private static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}

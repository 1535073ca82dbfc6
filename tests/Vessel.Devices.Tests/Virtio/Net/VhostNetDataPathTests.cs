using Vessel.Core.Memory;
using Vessel.Devices.Tests.Fakes;
using Vessel.Devices.Virtio;
using Vessel.Devices.Virtio.Net;

namespace Vessel.Devices.Tests.Virtio.Net;

public sealed class VhostNetDataPathTests : IDisposable
{
    private const int TapDescriptor = 42;
    private const ulong KernelFeatures = VhostNetDataPath.RingFeatures | NetFeature.Checksum | (1UL << 27);

    private readonly GuestMemory memory = GuestMemory.Create(4UL << 20);

    public void Dispose() => memory.Dispose();

    [Fact]
    public void Start_issues_owner_features_memory_table_each_ring_and_then_the_tap_backend_in_order()
    {
        var vhost = new RecordingVhostNet(KernelFeatures);
        var path = new VhostNetDataPath(vhost, TapDescriptor, "net0");
        ulong negotiated = VirtioFeature.Version1 | VirtioFeature.RingEventIndex | NetFeature.MergeableReceiveBuffers | NetFeature.Mac | NetFeature.Checksum;

        path.Start(memory, negotiated, Queues(receiveNext: 7, transmitNext: 3));

        nint host = memory.Regions[0].HostAddress;
        string At(ulong guest) => $"0x{(ulong)(host + (nint)guest):x}";
        Assert.Equal(
            [
                "owner",
                "get-features",
                $"features 0x{negotiated & KernelFeatures:x}",
                $"memory 0x0+0x400000@0x{(ulong)host:x}",
                "num 0 256",
                $"addr 0 desc {At(0x1_0000)} used {At(0x1_3000)} avail {At(0x1_1000)}",
                "base 0 7",
                "kick 0 10",
                "call 0 20",
                "num 1 256",
                $"addr 1 desc {At(0x2_0000)} used {At(0x2_3000)} avail {At(0x2_1000)}",
                "base 1 3",
                "kick 1 11",
                "call 1 21",
                "backend 0 42",
                "backend 1 42",
            ],
            vhost.Calls);
        Assert.True(path.Running);
    }

    [Fact]
    public void The_features_given_to_the_kernel_leave_out_device_bits_it_does_not_know()
    {
        var vhost = new RecordingVhostNet(KernelFeatures);
        var path = new VhostNetDataPath(vhost, TapDescriptor, "net0");

        path.Start(memory, VirtioFeature.Version1 | NetFeature.Mac | NetFeature.Status, Queues(0, 0));

        Assert.Contains($"features 0x{VirtioFeature.Version1:x}", vhost.Calls);
    }

    [Fact]
    public void Stop_detaches_the_tap_from_every_ring_before_reading_back_the_indices_the_kernel_reached()
    {
        var vhost = new RecordingVhostNet(KernelFeatures);
        var path = new VhostNetDataPath(vhost, TapDescriptor, "net0");
        path.Start(memory, VirtioFeature.Version1, Queues(receiveNext: 7, transmitNext: 3));
        vhost.Advance(0, 5);
        vhost.Advance(1, 65535);
        vhost.Calls.Clear();

        Span<ushort> next = stackalloc ushort[2];
        Assert.True(path.Stop(next));

        Assert.Equal(["backend 0 -1", "backend 1 -1", "get-base 0", "get-base 1"], vhost.Calls);
        Assert.Equal(12, next[0]);
        Assert.Equal(2, next[1]);
        Assert.False(path.Running);
        Assert.False(path.Stop(next));
    }

    [Fact]
    public void A_restart_after_reset_sets_the_owner_only_once_and_starts_from_the_indices_given()
    {
        var vhost = new RecordingVhostNet(KernelFeatures);
        var path = new VhostNetDataPath(vhost, TapDescriptor, "net0");
        path.Start(memory, VirtioFeature.Version1, Queues(0, 0));
        path.Stop(stackalloc ushort[2]);
        vhost.Calls.Clear();

        path.Start(memory, VirtioFeature.Version1, Queues(receiveNext: 100, transmitNext: 200));

        Assert.DoesNotContain("owner", vhost.Calls);
        Assert.Contains("base 0 100", vhost.Calls);
        Assert.Contains("base 1 200", vhost.Calls);
    }

    [Fact]
    public void A_kernel_without_a_negotiated_ring_feature_is_refused_before_any_ring_is_set_up()
    {
        var vhost = new RecordingVhostNet(VirtioFeature.Version1);
        var path = new VhostNetDataPath(vhost, TapDescriptor, "net0");

        var error = Assert.Throws<InvalidOperationException>(() =>
            path.Start(memory, VirtioFeature.Version1 | NetFeature.MergeableReceiveBuffers, Queues(0, 0)));

        Assert.Contains("net0", error.Message);
        Assert.Contains($"0x{NetFeature.MergeableReceiveBuffers:x}", error.Message);
        Assert.DoesNotContain(vhost.Calls, call => call.StartsWith("num", StringComparison.Ordinal));
        Assert.False(path.Running);
    }

    [Fact]
    public void A_ring_outside_guest_ram_is_refused_with_the_queue_and_address()
    {
        var vhost = new RecordingVhostNet(KernelFeatures);
        var path = new VhostNetDataPath(vhost, TapDescriptor, "net0");
        var queues = Queues(0, 0);
        queues[1] = queues[1] with { DriverArea = new GuestAddress(0x3F_FF00) };

        var error = Assert.Throws<InvalidOperationException>(() => path.Start(memory, VirtioFeature.Version1, queues));

        Assert.Contains("queue 1's available ring at 0x3fff00", error.Message);
        Assert.DoesNotContain(vhost.Calls, call => call.StartsWith("backend", StringComparison.Ordinal));
    }

    [Fact]
    public void A_refused_backend_detaches_the_rings_already_attached()
    {
        var vhost = new RecordingVhostNet(KernelFeatures) { RefuseBackendOn = 1 };
        var path = new VhostNetDataPath(vhost, TapDescriptor, "net0");

        Assert.Throws<IOException>(() => path.Start(memory, VirtioFeature.Version1, Queues(0, 0)));

        Assert.Equal(["backend 0 42", "backend 0 -1", "get-base 0"], vhost.Calls.Where(c => c.StartsWith("backend", StringComparison.Ordinal) || c.StartsWith("get-base", StringComparison.Ordinal)));
        Assert.False(path.Running);
    }

    [Fact]
    public void Dispose_stops_a_running_data_path_and_closes_the_descriptor()
    {
        var vhost = new RecordingVhostNet(KernelFeatures);
        var path = new VhostNetDataPath(vhost, TapDescriptor, "net0");
        path.Start(memory, VirtioFeature.Version1, Queues(0, 0));

        path.Dispose();

        Assert.Contains("backend 1 -1", vhost.Calls);
        Assert.True(vhost.Disposed);
    }

    private static VhostNetQueue[] Queues(ushort receiveNext, ushort transmitNext) =>
    [
        new(256, new GuestAddress(0x1_0000), new GuestAddress(0x1_1000), new GuestAddress(0x1_3000), receiveNext, 10, 20),
        new(256, new GuestAddress(0x2_0000), new GuestAddress(0x2_1000), new GuestAddress(0x2_3000), transmitNext, 11, 21),
    ];
}

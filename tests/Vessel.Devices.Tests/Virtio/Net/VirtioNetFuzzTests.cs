using System.Buffers.Binary;
using Vessel.Core.Logging;
using Vessel.Core.Memory;
using Vessel.Devices.Tests.Fakes;
using Vessel.Devices.Virtio;
using Vessel.Devices.Virtio.Net;
using Vessel.Devices.Virtio.Queues;

namespace Vessel.Devices.Tests.Virtio.Net;

/// <summary>
/// A bounded fuzz of what a malicious guest controls (ring indexes, descriptors, buffer addresses and lengths) and of frame sizes
/// from the host side: the device must never throw, must report a used length no frame can exceed, and stops a queue only
/// through the transport's Fail.
/// </summary>
public sealed class VirtioNetFuzzTests
{
    private const ushort QueueSize = 8;
    private const ulong MemorySize = 1UL << 20;

    [Fact]
    public void Random_rings_descriptors_and_frames_never_throw_or_escape_guest_memory()
    {
        var random = new Random(20261204);
        using var memory = GuestMemory.Create(MemorySize);
        int usedEntries = 0;
        int failures = 0;
        for (int round = 0; round < 400; round++)
        {
            memory.GetSpan(new GuestAddress(0), (int)MemorySize).Clear();
            var receive = NewQueue(memory, 0x1000);
            var transmit = NewQueue(memory, 0x3000);
            var backend = new FakeNetworkBackend(random.Next(2) * NetHeader.Size);
            ulong features = VirtioFeature.Version1 | (random.Next(2) == 0 ? NetFeature.MergeableReceiveBuffers : 0) | NetFeature.GuestChecksum;
            var device = new VirtioNetDevice(backend, [0x52, 0x54, 0, 0, 0, 1], NullMachineLog.Instance, queueSize: QueueSize);
            var context = new FakeVirtioContext(memory, [receive, transmit], features);
            device.Activate(context);

            // The rings and descriptor tables filled with noise, indexes included; buffers point anywhere, inside RAM or not.
            // Mostly plausible rings (so chains get served) with noise mixed in (so rules get broken): wild addresses and
            // lengths, unknown flags, indirect tables, loops, indexes past the queue.
            foreach (ulong table in new ulong[] { 0x1000, 0x3000 })
            {
                ushort writable = table == 0x1000 ? (ushort)2 : (ushort)0;
                var descriptors = memory.GetSpan(new GuestAddress(table), 16 * QueueSize);
                for (int index = 0; index < QueueSize; index++)
                {
                    var descriptor = descriptors.Slice(16 * index, 16);
                    bool noisy = random.Next(6) == 0;
                    ulong address = noisy ? (ulong)random.NextInt64() : (ulong)random.Next(0x8000, (int)MemorySize - 0x1000);
                    uint length = noisy ? (uint)random.Next() : (uint)random.Next(0, 4096);
                    ushort flags = noisy ? (ushort)random.Next(0, 8) : (ushort)((random.Next(2) == 0 ? 1 : 0) | writable);
                    ushort next = noisy ? (ushort)random.Next(0, QueueSize + 2) : (ushort)((index + 1) % QueueSize);
                    BinaryPrimitives.WriteUInt64LittleEndian(descriptor, address);
                    BinaryPrimitives.WriteUInt32LittleEndian(descriptor[8..], length);
                    BinaryPrimitives.WriteUInt16LittleEndian(descriptor[12..], flags);
                    BinaryPrimitives.WriteUInt16LittleEndian(descriptor[14..], next);
                }

                var ring = memory.GetSpan(new GuestAddress(table + (16 * QueueSize)), 4 + (2 * QueueSize));
                for (int slot = 0; slot < QueueSize; slot++)
                {
                    BinaryPrimitives.WriteUInt16LittleEndian(ring[(4 + (2 * slot))..], (ushort)(random.Next(10) == 0 ? random.Next() : random.Next(0, QueueSize)));
                }

                BinaryPrimitives.WriteUInt16LittleEndian(ring[2..], (ushort)random.Next(0, QueueSize + 3));
            }

            for (int frame = 0; frame < 6; frame++)
            {
                var bytes = new byte[random.Next(0, 3) == 0 ? random.Next(0, 70000) : random.Next(0, 2000)];
                random.NextBytes(bytes);
                backend.Arrive(bytes);
            }

            for (int step = 0; step < 8; step++)
            {
                device.ProcessQueue(random.Next(2));
            }

            foreach (var (queue, table) in new[] { (receive, 0x1000UL), (transmit, 0x3000UL) })
            {
                for (ushort index = 0; index < queue.NextUsed; index++)
                {
                    uint length = memory.Read<uint>(new GuestAddress(table + 0x1000 + 4 + (8UL * (ulong)(index % QueueSize)) + 4));
                    Assert.True(length <= NetHeader.Size + VirtioNetDevice.MaximumFrameSize, $"round {round}: used length {length}");
                    usedEntries++;
                }
            }

            failures += context.Failure != null ? 1 : 0;
            device.Reset();
        }

        // The noise reached both outcomes: chains served and queues stopped for a broken rule.
        Assert.True(usedEntries > 0 && failures > 0, $"{usedEntries} used entries, {failures} failed queues");
    }

    private static SplitVirtqueue NewQueue(GuestMemory memory, ulong table)
    {
        var queue = new SplitVirtqueue(memory, QueueSize)
        {
            Size = QueueSize,
            DescriptorTable = new GuestAddress(table),
            DriverArea = new GuestAddress(table + (16 * QueueSize)),
            DeviceArea = new GuestAddress(table + 0x1000),
        };
        queue.Enable();
        Assert.True(queue.Activate(useEventIndex: false));
        return queue;
    }
}

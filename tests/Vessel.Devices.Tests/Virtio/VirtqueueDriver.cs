using System.Buffers.Binary;
using Vessel.Core.Memory;
using Vessel.Devices.Virtio.Queues;

namespace Vessel.Devices.Tests.Virtio;

/// <summary>
/// The driver's half of one split virtqueue, as a guest driver lays it out (virtio 1.2 §2.7): a descriptor table, an available
/// ring and a used ring at <paramref name="baseAddress"/>, and buffers the test places where it likes.
/// </summary>
public sealed class VirtqueueDriver
{
    private readonly GuestMemory memory;
    private readonly ushort size;
    private ushort nextDescriptor;
    private ushort availableIndex;
    private ushort usedSeen;

    public VirtqueueDriver(GuestMemory memory, ulong baseAddress, ushort size)
    {
        this.memory = memory;
        this.size = size;
        DescriptorTable = new GuestAddress(baseAddress);
        AvailableRing = new GuestAddress(baseAddress + (16UL * size));
        UsedRing = new GuestAddress((AvailableRing.Value + 6 + (2UL * size) + 4095) & ~4095UL);
        Queue = new SplitVirtqueue(memory, size)
        {
            Size = size,
            DescriptorTable = DescriptorTable,
            DriverArea = AvailableRing,
            DeviceArea = UsedRing,
        };
        Queue.Enable();
        if (!Queue.Activate(useEventIndex: false))
        {
            throw new InvalidOperationException(Queue.Violation);
        }
    }

    public SplitVirtqueue Queue { get; }

    public GuestAddress DescriptorTable { get; }

    public GuestAddress AvailableRing { get; }

    public GuestAddress UsedRing { get; }

    public ushort UsedIndex => memory.Read<ushort>(UsedRing + 2);

    /// <summary>Writes a chain of the given buffers and makes it available; returns its head.</summary>
    public ushort Offer(params (GuestAddress Address, uint Length, bool Writable)[] buffers)
    {
        ushort head = nextDescriptor;
        for (int index = 0; index < buffers.Length; index++)
        {
            ushort slot = (ushort)((nextDescriptor + index) % size);
            var descriptor = memory.GetSpan(DescriptorTable + (16UL * slot), 16);
            BinaryPrimitives.WriteUInt64LittleEndian(descriptor, buffers[index].Address.Value);
            BinaryPrimitives.WriteUInt32LittleEndian(descriptor[8..], buffers[index].Length);
            ushort flags = (ushort)((index + 1 < buffers.Length ? 1 : 0) | (buffers[index].Writable ? 2 : 0));
            BinaryPrimitives.WriteUInt16LittleEndian(descriptor[12..], flags);
            BinaryPrimitives.WriteUInt16LittleEndian(descriptor[14..], (ushort)((slot + 1) % size));
        }

        nextDescriptor = (ushort)((nextDescriptor + buffers.Length) % size);
        memory.Write(AvailableRing + 4 + (2UL * (ulong)(availableIndex % size)), head);
        availableIndex++;
        memory.Write(AvailableRing + 2, availableIndex);
        return head;
    }

    /// <summary>The used entries the device returned since the last call: (head, bytes written).</summary>
    public List<(uint Head, uint Length)> TakeUsed()
    {
        var entries = new List<(uint, uint)>();
        while (usedSeen != UsedIndex)
        {
            var element = UsedRing + 4 + (8UL * (ulong)(usedSeen % size));
            entries.Add((memory.Read<uint>(element), memory.Read<uint>(element + 4)));
            usedSeen++;
        }

        return entries;
    }
}

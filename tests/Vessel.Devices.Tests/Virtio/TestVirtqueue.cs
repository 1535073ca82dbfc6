using System.Buffers.Binary;
using Vessel.Core.Memory;
using Vessel.Devices.Virtio.Queues;

namespace Vessel.Devices.Tests.Virtio;

/// <summary>
/// The driver's side of a split virtqueue (virtio 1.2 §2.7) laid out in guest memory as Linux's virtio_ring does: the test
/// writes descriptors and available entries and reads back the used ring, byte by byte, so the device sees a real layout.
/// </summary>
public sealed class TestVirtqueue
{
    public const int DescriptorSize = 16;

    private readonly GuestMemory memory;
    private ushort nextDescriptor;

    public TestVirtqueue(GuestMemory memory, ushort size, GuestAddress descriptors, GuestAddress available, GuestAddress used)
    {
        this.memory = memory;
        Size = size;
        Descriptors = descriptors;
        Available = available;
        Used = used;
        memory.GetSpan(descriptors, size * DescriptorSize).Clear();
        memory.GetSpan(available, 6 + (2 * size)).Clear();
        memory.GetSpan(used, 6 + (8 * size)).Clear();
    }

    public ushort Size { get; }

    public GuestAddress Descriptors { get; }

    public GuestAddress Available { get; }

    public GuestAddress Used { get; }

    /// <summary>The driver's avail->idx as last published.</summary>
    public ushort AvailableIndex { get; private set; }

    /// <summary>How many used entries <see cref="TakeUsed"/> has consumed.</summary>
    public ushort LastSeenUsed { get; private set; }

    public ushort UsedIndex => memory.Read<ushort>(Used + 2);

    public ushort UsedFlags => memory.Read<ushort>(Used);

    /// <summary>avail_event, which the device publishes after the used ring with EVENT_IDX.</summary>
    public ushort AvailableEvent => memory.Read<ushort>(Used + 4 + (8UL * Size));

    /// <summary>Lays out queues of <paramref name="size"/> one after another from <paramref name="at"/> (4 KiB-aligned pieces).</summary>
    public static TestVirtqueue At(GuestMemory memory, ushort size, GuestAddress at)
    {
        ulong descriptorBytes = Align((ulong)size * DescriptorSize);
        ulong availableBytes = Align(6 + (2UL * size));
        return new TestVirtqueue(memory, size, at, at + descriptorBytes, at + descriptorBytes + availableBytes);
    }

    /// <summary>Bytes <see cref="At"/> uses for a queue of <paramref name="size"/>.</summary>
    public static ulong Footprint(ushort size) => Align((ulong)size * DescriptorSize) + Align(6 + (2UL * size)) + Align(6 + (8UL * size));

    public void SetDescriptor(int index, ulong address, uint length, DescriptorFlags flags, ushort next = 0) =>
        WriteDescriptor(Descriptors + ((ulong)index * DescriptorSize), address, length, flags, next);

    /// <summary>Writes one descriptor of an indirect table at <paramref name="table"/>.</summary>
    public void SetIndirectDescriptor(GuestAddress table, int index, ulong address, uint length, DescriptorFlags flags, ushort next = 0) =>
        WriteDescriptor(table + ((ulong)index * DescriptorSize), address, length, flags, next);

    /// <summary>
    /// Builds a chain of <paramref name="buffers"/> from the next free descriptors (wrapping), links them with NEXT, and
    /// returns its head without publishing it.
    /// </summary>
    public ushort BuildChain(params (GuestAddress Address, uint Length, bool Writable)[] buffers)
    {
        ushort head = nextDescriptor;
        for (int index = 0; index < buffers.Length; index++)
        {
            ushort current = nextDescriptor;
            nextDescriptor = (ushort)((nextDescriptor + 1) % Size);
            var flags = buffers[index].Writable ? DescriptorFlags.Write : DescriptorFlags.None;
            if (index + 1 < buffers.Length)
            {
                flags |= DescriptorFlags.Next;
            }

            SetDescriptor(current, buffers[index].Address.Value, buffers[index].Length, flags, nextDescriptor);
        }

        return head;
    }

    /// <summary>Builds a chain and makes it available: what a driver's virtqueue_add + kick-less publish does.</summary>
    public ushort AddChain(params (GuestAddress Address, uint Length, bool Writable)[] buffers)
    {
        ushort head = BuildChain(buffers);
        Publish(head);
        return head;
    }

    /// <summary>Puts <paramref name="head"/> in the next available slot and advances avail->idx.</summary>
    public void Publish(ushort head)
    {
        memory.Write(Available + 4 + (2UL * (ushort)(AvailableIndex % Size)), head);
        AvailableIndex++;
        memory.Write(Available + 2, AvailableIndex);
    }

    /// <summary>Sets avail->idx directly (for rule-breaking tests).</summary>
    public void SetAvailableIndex(ushort value)
    {
        AvailableIndex = value;
        memory.Write(Available + 2, value);
    }

    public void SetAvailableFlags(ushort flags) => memory.Write(Available, flags);

    /// <summary>used_event, after the available ring (EVENT_IDX).</summary>
    public void SetUsedEvent(ushort value) => memory.Write(Available + 4 + (2UL * Size), value);

    public (uint Id, uint Length) UsedElement(int slot)
    {
        var element = Used + 4 + (8UL * (ulong)(slot % Size));
        return (memory.Read<uint>(element), memory.Read<uint>(element + 4));
    }

    /// <summary>The used entries the device added since the last call.</summary>
    public List<(uint Id, uint Length)> TakeUsed()
    {
        var taken = new List<(uint Id, uint Length)>();
        ushort usedIndex = UsedIndex;
        while (LastSeenUsed != usedIndex)
        {
            taken.Add(UsedElement(LastSeenUsed));
            LastSeenUsed++;
        }

        return taken;
    }

    private void WriteDescriptor(GuestAddress at, ulong address, uint length, DescriptorFlags flags, ushort next)
    {
        Span<byte> descriptor = stackalloc byte[DescriptorSize];
        BinaryPrimitives.WriteUInt64LittleEndian(descriptor, address);
        BinaryPrimitives.WriteUInt32LittleEndian(descriptor[8..], length);
        BinaryPrimitives.WriteUInt16LittleEndian(descriptor[12..], (ushort)flags);
        BinaryPrimitives.WriteUInt16LittleEndian(descriptor[14..], next);
        memory.WriteBytes(at, descriptor);
    }

    private static ulong Align(ulong value) => (value + 4095) & ~4095UL;
}

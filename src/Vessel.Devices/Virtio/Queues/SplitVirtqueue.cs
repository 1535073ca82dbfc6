using System.Runtime.CompilerServices;
using Vessel.Core.Memory;
using Vessel.Core.Snapshots;

namespace Vessel.Devices.Virtio.Queues;

/// <summary>
/// A split virtqueue (virtio 1.2 §2.7) as the device side sees it: the driver's descriptor table, available ring and used ring
/// in guest memory. Everything the driver supplies is checked before use: ring addresses and size when the queue is activated,
/// and every index, descriptor, indirect table and buffer address as a chain is walked, with the walk bounded by the queue
/// size. A driver that breaks a rule gets <see cref="PopResult.Violation"/>, never an access outside guest RAM.
/// </summary>
/// <remarks>
/// The rings are read and written through host pointers checked at activation: the guest's vCPUs change them concurrently,
/// so index reads are volatile (acquire) and index writes volatile (release) after the entries they publish.
/// </remarks>
public sealed unsafe class SplitVirtqueue : IStateful
{
    /// <summary>The largest queue size the split layout allows (§2.7: Queue Size is at most 32768).</summary>
    public const int MaximumSize = 32768;

    /// <summary>The value of a queue's MSI-X vector register meaning "no vector" (§4.1.5.1.2).</summary>
    public const ushort NoVector = 0xFFFF;

    private const int DescriptorSize = 16;

    /// <summary>VIRTQ_AVAIL_F_NO_INTERRUPT (§2.7.7): the driver does not want interrupts (without EVENT_IDX).</summary>
    private const ushort AvailableNoInterrupt = 1;

    private readonly GuestMemory memory;
    private byte* descriptors;
    private byte* available;
    private byte* used;
    private ushort nextAvailable;
    private ushort nextUsed;
    private ushort signalledUsed;
    private bool eventIndex;

    public SplitVirtqueue(GuestMemory memory, ushort maximumSize)
    {
        if (maximumSize == 0 || maximumSize > MaximumSize || (maximumSize & (maximumSize - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maximumSize), "A split queue's size is a power of two up to 32768.");
        }

        this.memory = memory;
        MaximumQueueSize = maximumSize;
        Reset();
    }

    public ushort MaximumQueueSize { get; }

    /// <summary>queue_size as the driver set it (defaults to the maximum).</summary>
    public ushort Size { get; set; }

    public ushort MsixVector { get; set; }

    /// <summary>queue_enable: the driver finished configuring this queue.</summary>
    public bool Enabled { get; private set; }

    public GuestAddress DescriptorTable { get; set; }

    /// <summary>queue_driver: the available ring.</summary>
    public GuestAddress DriverArea { get; set; }

    /// <summary>queue_device: the used ring.</summary>
    public GuestAddress DeviceArea { get; set; }

    /// <summary>Why the queue stopped, once a pop returned <see cref="PopResult.Violation"/>.</summary>
    public string? Violation { get; private set; }

    /// <summary>Rings checked and mapped: the queue can be used.</summary>
    public bool IsReady => used != null && Violation == null;

    /// <summary>The driver's next free slot in the available ring (for tests and snapshots).</summary>
    public ushort NextAvailable => nextAvailable;

    public ushort NextUsed => nextUsed;

    /// <summary>Back to the state after a device reset (§2.4): disabled, no rings, maximum size, no vector.</summary>
    public void Reset()
    {
        Size = MaximumQueueSize;
        MsixVector = NoVector;
        Enabled = false;
        DescriptorTable = default;
        DriverArea = default;
        DeviceArea = default;
        descriptors = available = used = null;
        nextAvailable = nextUsed = signalledUsed = 0;
        Violation = null;
        eventIndex = false;
    }

    public int StateVersion => 1;

    /// <summary>
    /// The driver's configuration (size, vector, ring addresses, enable), the device's positions in the rings (next
    /// available entry, used index, the used index last signalled), event-index use, and whether the rings were mapped.
    /// The rings themselves are guest memory and travel with it.
    /// </summary>
    public void SaveState(StateWriter writer)
    {
        writer.WriteUInt16(Size);
        writer.WriteUInt16(MsixVector);
        writer.WriteBool(Enabled);
        writer.WriteUInt64(DescriptorTable.Value);
        writer.WriteUInt64(DriverArea.Value);
        writer.WriteUInt64(DeviceArea.Value);
        writer.WriteUInt16(nextAvailable);
        writer.WriteUInt16(nextUsed);
        writer.WriteUInt16(signalledUsed);
        writer.WriteBool(eventIndex);
        writer.WriteBool(used != null);
        writer.WriteString(Violation ?? string.Empty);
    }

    /// <summary>
    /// Takes the saved configuration and positions; a queue that was active maps its rings again in this guest memory
    /// (which must already hold the snapshot's contents), refused when they no longer lie in RAM.
    /// </summary>
    public void RestoreState(StateReader reader, int version)
    {
        Reset();
        Size = reader.ReadUInt16();
        MsixVector = reader.ReadUInt16();
        Enabled = reader.ReadBool();
        DescriptorTable = new GuestAddress(reader.ReadUInt64());
        DriverArea = new GuestAddress(reader.ReadUInt64());
        DeviceArea = new GuestAddress(reader.ReadUInt64());
        nextAvailable = reader.ReadUInt16();
        nextUsed = reader.ReadUInt16();
        signalledUsed = reader.ReadUInt16();
        bool useEventIndex = reader.ReadBool();
        bool active = reader.ReadBool();
        string violation = reader.ReadString();
        if (active && !Activate(useEventIndex))
        {
            throw reader.Malformed($"an active queue cannot be mapped again: {Violation}");
        }

        eventIndex = useEventIndex;
        Violation = violation.Length == 0 ? null : violation;
    }

    /// <summary>
    /// Continues from where another server of the rings (the kernel's vhost-net) left off: its next available entry, and the
    /// used index as it stands in the used ring.
    /// </summary>
    public void ResumeAt(ushort nextAvailableEntry)
    {
        nextAvailable = nextAvailableEntry;
        if (used != null)
        {
            nextUsed = Volatile.Read(ref *(ushort*)(used + 2));
            signalledUsed = nextUsed;
        }
    }

    /// <summary>The driver wrote 1 to queue_enable. Whether the rings are usable is checked at <see cref="Activate"/>.</summary>
    public void Enable() => Enabled = true;

    /// <summary>
    /// Checks the rings the driver configured (size a power of two within the maximum, §2.7's alignments, every ring inside
    /// guest RAM) and maps them. False, with <see cref="Violation"/> set, when they are not usable.
    /// </summary>
    public bool Activate(bool useEventIndex)
    {
        eventIndex = useEventIndex;
        if (!Enabled)
        {
            return true;
        }

        if (Size == 0 || Size > MaximumQueueSize || (Size & (Size - 1)) != 0)
        {
            return Fail($"queue size {Size} is not a power of two from 1 to {MaximumQueueSize}");
        }

        // §2.7: descriptor table 16-byte aligned, available ring 2-byte aligned, used ring 4-byte aligned.
        if ((DescriptorTable.Value & 15) != 0 || (DriverArea.Value & 1) != 0 || (DeviceArea.Value & 3) != 0)
        {
            return Fail("a ring address is not aligned as virtio 1.2 §2.7 requires");
        }

        ulong descriptorBytes = (ulong)Size * DescriptorSize;
        ulong availableBytes = 6 + (2UL * Size);
        ulong usedBytes = 6 + (8UL * Size);
        if (!memory.TryGetHostAddress(DescriptorTable, descriptorBytes, out nint descriptorHost)
            || !memory.TryGetHostAddress(DriverArea, availableBytes, out nint availableHost)
            || !memory.TryGetHostAddress(DeviceArea, usedBytes, out nint usedHost))
        {
            return Fail("a ring lies outside guest RAM");
        }

        descriptors = (byte*)descriptorHost;
        available = (byte*)availableHost;
        used = (byte*)usedHost;
        return true;
    }

    /// <summary>Stops using the queue for good (until reset), with <paramref name="reason"/> as the violation.</summary>
    public bool Fail(string reason)
    {
        Violation ??= reason;
        return false;
    }

    /// <summary>
    /// Takes the next available chain into <paramref name="chain"/>. With EVENT_IDX, an empty queue also publishes avail_event
    /// so the driver notifies for the next buffer, and looks again to close the race with a driver adding one meanwhile.
    /// </summary>
    public PopResult TryPop(DescriptorChain chain)
    {
        if (!IsReady)
        {
            return Violation != null ? PopResult.Violation : PopResult.Empty;
        }

        ushort availableIndex = ReadAvailableIndex();
        if (availableIndex == nextAvailable)
        {
            if (!eventIndex)
            {
                return PopResult.Empty;
            }

            WriteAvailableEvent(nextAvailable);
            Interlocked.MemoryBarrier();
            availableIndex = ReadAvailableIndex();
            if (availableIndex == nextAvailable)
            {
                return PopResult.Empty;
            }
        }

        // §2.7.6: the driver may be at most Size entries ahead of what the device has consumed.
        if ((ushort)(availableIndex - nextAvailable) > Size)
        {
            Fail($"the available index moved {(ushort)(availableIndex - nextAvailable)} entries ahead of a queue of {Size}");
            return PopResult.Violation;
        }

        ushort head = Volatile.Read(ref *(ushort*)(available + 4 + (2 * (nextAvailable & (Size - 1)))));
        nextAvailable++;
        if (eventIndex)
        {
            WriteAvailableEvent(nextAvailable);
        }

        return WalkChain(head, chain) ? PopResult.Chain : PopResult.Violation;
    }

    /// <summary>
    /// Puts back the last <paramref name="count"/> chains popped and not yet returned, as if never taken: a receiving device
    /// that finds too few buffers for a whole frame leaves them for the next one (the driver cannot tell).
    /// </summary>
    public void UndoPop(int count)
    {
        if (count <= 0 || used == null)
        {
            return;
        }

        nextAvailable -= (ushort)count;
        if (eventIndex)
        {
            // The driver notifies only when its index passes avail_event (§2.7.10); asking to hear of the next buffer it adds
            // (not the ones put back) is what wakes a device that is waiting for more room.
            WriteAvailableEvent(ReadAvailableIndex());
        }
    }

    /// <summary>Returns a finished chain to the driver with the number of bytes the device wrote into it (§2.7.8).</summary>
    public void PushUsed(ushort head, uint writtenLength)
    {
        if (used == null)
        {
            return;
        }

        byte* element = used + 4 + (8 * (nextUsed & (Size - 1)));
        *(uint*)element = head;
        *(uint*)(element + 4) = writtenLength;
        nextUsed++;
        Volatile.Write(ref *(ushort*)(used + 2), nextUsed);
        memory.NotifyExternalWrite(DeviceArea, 4 + (8UL * Size));
    }

    /// <summary>
    /// After a batch of <see cref="PushUsed"/>: whether the driver wants an interrupt for it (§2.7.10: used_event with EVENT_IDX,
    /// otherwise the NO_INTERRUPT flag). Call once per batch; it remembers what was signalled.
    /// </summary>
    public bool NeedsInterrupt()
    {
        if (used == null || nextUsed == signalledUsed)
        {
            return false;
        }

        // The used index must be visible before the driver's suppression field is read (store-load order).
        Interlocked.MemoryBarrier();
        ushort old = signalledUsed;
        signalledUsed = nextUsed;
        if (!eventIndex)
        {
            return (Volatile.Read(ref *(ushort*)available) & AvailableNoInterrupt) == 0;
        }

        ushort usedEvent = Volatile.Read(ref *(ushort*)(available + 4 + (2 * Size)));
        return (ushort)(nextUsed - usedEvent - 1) < (ushort)(nextUsed - old);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ushort ReadAvailableIndex() => Volatile.Read(ref *(ushort*)(available + 2));

    private void WriteAvailableEvent(ushort value)
    {
        Volatile.Write(ref *(ushort*)(used + 4 + (8 * Size)), value);
    }

    private bool WalkChain(ushort head, DescriptorChain chain)
    {
        chain.Reset(head);
        if (head >= Size)
        {
            return Fail($"the available ring names descriptor {head} of a queue of {Size}");
        }

        byte* table = descriptors;
        int tableSize = Size;
        ushort index = head;
        bool indirect = false;
        bool sawWritable = false;

        // §2.7.5.3.1: a chain is never longer than the queue size, and an indirect table's chain never longer than the table
        // (itself at most the queue size); counting the buffers walked against that bound also ends loops. The descriptor
        // that points at an indirect table is not a buffer and does not count.
        int limit = Size;
        for (int walked = 0; ; walked++)
        {
            if (walked >= limit)
            {
                return Fail($"descriptor chain from {head} is longer than {(indirect ? "its indirect table" : "the queue size")} of {limit} (a loop?)");
            }

            byte* descriptor = table + (DescriptorSize * index);
            ulong address = *(ulong*)descriptor;
            uint length = *(uint*)(descriptor + 8);
            var flags = (DescriptorFlags)(*(ushort*)(descriptor + 12));
            ushort next = *(ushort*)(descriptor + 14);

            if ((flags & DescriptorFlags.Indirect) != 0)
            {
                // §2.7.5.3.1: not inside an indirect table, not with NEXT, a whole number of descriptors.
                if (indirect || (flags & DescriptorFlags.Next) != 0 || length == 0 || length % DescriptorSize != 0)
                {
                    return Fail($"descriptor {index} is an invalid indirect descriptor");
                }

                if (length / DescriptorSize > (uint)Size)
                {
                    return Fail($"indirect table of {length / DescriptorSize} descriptors exceeds the queue size {Size}");
                }

                if ((address & 15) != 0 || !memory.TryGetHostAddress(new GuestAddress(address), length, out nint indirectHost))
                {
                    return Fail($"indirect table at 0x{address:x}+0x{length:x} is not aligned guest RAM");
                }

                table = (byte*)indirectHost;
                tableSize = (int)(length / DescriptorSize);
                indirect = true;
                index = 0;
                limit = tableSize;
                walked = -1;
                continue;
            }

            bool writable = (flags & DescriptorFlags.Write) != 0;
            if (!writable && sawWritable)
            {
                return Fail($"descriptor {index} is device-readable after a device-writable one");
            }

            sawWritable |= writable;
            if (length > 0)
            {
                if (!memory.TryGetHostAddress(new GuestAddress(address), length, out _))
                {
                    return Fail($"descriptor {index} points at 0x{address:x}+0x{length:x}, outside guest RAM");
                }

                if (!chain.TryAdd(new DescriptorSegment(new GuestAddress(address), length, writable)))
                {
                    return Fail($"descriptor chain from {head} has more buffers than the device accepts");
                }
            }

            if ((flags & DescriptorFlags.Next) == 0)
            {
                return true;
            }

            if (next >= tableSize)
            {
                return Fail($"descriptor {index} links to {next}, past the end of a table of {tableSize}");
            }

            index = next;
        }
    }
}

using Vessel.Core.Memory;
using Vessel.Devices.Virtio.Queues;

namespace Vessel.Devices.Tests.Virtio;

public sealed class SplitVirtqueueTests : IDisposable
{
    private const ushort Size = 8;
    private static readonly GuestAddress RingAt = new(0x1_0000);
    private static readonly GuestAddress BufferAt = new(0x8_0000);
    private static readonly GuestAddress TableAt = new(0x9_0000);

    private readonly GuestMemory memory = GuestMemory.Create(16UL << 20);
    private readonly TestVirtqueue driver;
    private readonly SplitVirtqueue queue;
    private readonly DescriptorChain chain = new(256);

    public SplitVirtqueueTests()
    {
        driver = TestVirtqueue.At(memory, Size, RingAt);
        queue = new SplitVirtqueue(memory, 256);
    }

    public void Dispose() => memory.Dispose();

    [Fact]
    public void A_readable_then_writable_chain_comes_out_whole_and_in_order()
    {
        Activate();
        ushort head = driver.AddChain((BufferAt, 16, false), (BufferAt + 0x100, 512, false), (BufferAt + 0x1000, 1, true));

        Assert.Equal(PopResult.Chain, queue.TryPop(chain));

        Assert.Equal(head, chain.Head);
        Assert.Equal(3, chain.Count);
        Assert.Equal(new DescriptorSegment(BufferAt, 16, false), chain.Segments[0]);
        Assert.Equal(new DescriptorSegment(BufferAt + 0x100, 512, false), chain.Segments[1]);
        Assert.Equal(new DescriptorSegment(BufferAt + 0x1000, 1, true), chain.Segments[2]);
        Assert.Equal(528UL, chain.ReadableLength);
        Assert.Equal(1UL, chain.WritableLength);
        Assert.Equal(PopResult.Empty, queue.TryPop(chain));
    }

    [Fact]
    public void An_empty_queue_pops_nothing_and_chains_come_in_available_order()
    {
        Activate();
        Assert.Equal(PopResult.Empty, queue.TryPop(chain));

        ushort first = driver.AddChain((BufferAt, 8, true));
        ushort second = driver.AddChain((BufferAt + 8, 8, true));

        Assert.Equal(PopResult.Chain, queue.TryPop(chain));
        Assert.Equal(first, chain.Head);
        Assert.Equal(PopResult.Chain, queue.TryPop(chain));
        Assert.Equal(second, chain.Head);
        Assert.Equal(PopResult.Empty, queue.TryPop(chain));
        Assert.Equal(2, queue.NextAvailable);
    }

    [Fact]
    public void Read_and_write_gather_and_scatter_across_segments()
    {
        Activate();
        memory.WriteBytes(BufferAt, [1, 2, 3]);
        memory.WriteBytes(BufferAt + 0x100, [4, 5]);
        driver.AddChain((BufferAt, 3, false), (BufferAt + 0x100, 2, false), (BufferAt + 0x200, 2, true), (BufferAt + 0x300, 4, true));
        Assert.Equal(PopResult.Chain, queue.TryPop(chain));

        var gathered = new byte[8];
        int read = chain.Read(memory, 1, gathered);
        int written = chain.Write(memory, 1, [9, 8, 7, 6, 5, 4, 3]);

        Assert.Equal(4, read);
        Assert.Equal(new byte[] { 2, 3, 4, 5, 0, 0, 0, 0 }, gathered);
        Assert.Equal(5, written);
        Assert.Equal(9, memory.Read<byte>(BufferAt + 0x201));
        Assert.Equal(new byte[] { 8, 7, 6, 5 }, memory.GetSpan(BufferAt + 0x300, 4).ToArray());
    }

    [Fact]
    public void An_indirect_descriptor_expands_to_its_table()
    {
        Activate();
        driver.SetIndirectDescriptor(TableAt, 0, BufferAt.Value, 16, DescriptorFlags.Next, 1);
        driver.SetIndirectDescriptor(TableAt, 1, BufferAt.Value + 0x100, 64, DescriptorFlags.Next | DescriptorFlags.Write, 2);
        driver.SetIndirectDescriptor(TableAt, 2, BufferAt.Value + 0x200, 1, DescriptorFlags.Write);
        driver.SetDescriptor(5, TableAt.Value, 3 * TestVirtqueue.DescriptorSize, DescriptorFlags.Indirect);
        driver.Publish(5);

        Assert.Equal(PopResult.Chain, queue.TryPop(chain));

        Assert.Equal(5, chain.Head);
        Assert.Equal(3, chain.Count);
        Assert.Equal(new DescriptorSegment(BufferAt + 0x100, 64, true), chain.Segments[1]);
        Assert.Equal(16UL, chain.ReadableLength);
        Assert.Equal(65UL, chain.WritableLength);
    }

    [Fact]
    public void A_chain_that_loops_is_a_violation()
    {
        Activate();
        driver.SetDescriptor(0, BufferAt.Value, 8, DescriptorFlags.Next, 1);
        driver.SetDescriptor(1, BufferAt.Value, 8, DescriptorFlags.Next, 0);
        driver.Publish(0);

        AssertViolation("(a loop?)");
    }

    [Fact]
    public void An_indirect_table_as_long_as_the_queue_is_accepted()
    {
        // Linux's virtio-blk puts header, seg_max data buffers and status in one indirect table: up to Size entries.
        Activate();
        for (int index = 0; index < Size; index++)
        {
            var flags = DescriptorFlags.Write | (index < Size - 1 ? DescriptorFlags.Next : DescriptorFlags.None);
            driver.SetIndirectDescriptor(TableAt, index, BufferAt.Value, 1, flags, (ushort)(index + 1));
        }

        driver.SetDescriptor(0, TableAt.Value, Size * TestVirtqueue.DescriptorSize, DescriptorFlags.Indirect);
        driver.Publish(0);

        Assert.Equal(PopResult.Chain, queue.TryPop(chain));
        Assert.Equal(Size, chain.Count);
    }

    [Fact]
    public void A_descriptor_that_links_to_itself_is_a_violation()
    {
        Activate();
        driver.SetDescriptor(3, BufferAt.Value, 8, DescriptorFlags.Next, 3);
        driver.Publish(3);

        AssertViolation("(a loop?)");
    }

    [Fact]
    public void A_next_index_past_the_table_is_a_violation()
    {
        Activate();
        driver.SetDescriptor(0, BufferAt.Value, 8, DescriptorFlags.Next, Size);
        driver.Publish(0);

        AssertViolation("past the end");
    }

    [Fact]
    public void A_buffer_past_the_end_of_guest_ram_is_a_violation()
    {
        Activate();
        driver.AddChain((new GuestAddress((16UL << 20) - 8), 16, true));

        AssertViolation("outside guest RAM");
    }

    [Fact]
    public void A_buffer_with_a_huge_length_is_a_violation()
    {
        Activate();
        driver.AddChain((BufferAt, uint.MaxValue, true));

        AssertViolation("outside guest RAM");
    }

    [Fact]
    public void A_buffer_whose_address_wraps_the_address_space_is_a_violation()
    {
        Activate();
        driver.SetDescriptor(0, ulong.MaxValue - 7, 16, DescriptorFlags.None);
        driver.Publish(0);

        AssertViolation("outside guest RAM");
    }

    [Fact]
    public void A_buffer_crossing_into_the_mmio_hole_is_a_violation()
    {
        // RAM runs up to the hole and continues at 4 GiB; the mapping is lazy, so only the touched pages cost memory.
        using var large = GuestMemory.Create(GuestMemory.MmioHoleStart + (1UL << 20));
        var ring = TestVirtqueue.At(large, Size, RingAt);
        var split = Configure(new SplitVirtqueue(large, 256), ring);
        Assert.True(split.Activate(useEventIndex: false));
        ring.AddChain((new GuestAddress(GuestMemory.MmioHoleStart - 8), 16, true));

        Assert.Equal(PopResult.Violation, split.TryPop(chain));
        Assert.Contains("outside guest RAM", split.Violation);
    }

    [Fact]
    public void A_buffer_inside_the_mmio_hole_is_a_violation_but_one_above_4_gib_is_ram()
    {
        using var large = GuestMemory.Create(GuestMemory.MmioHoleStart + (1UL << 20));
        var ring = TestVirtqueue.At(large, Size, RingAt);
        var split = Configure(new SplitVirtqueue(large, 256), ring);
        Assert.True(split.Activate(useEventIndex: false));
        ring.AddChain((new GuestAddress(GuestMemory.FourGiB + 0x1000), 64, true));
        ring.AddChain((new GuestAddress(0xFEC0_0000), 4, true));

        Assert.Equal(PopResult.Chain, split.TryPop(chain));
        Assert.Equal(PopResult.Violation, split.TryPop(chain));
    }

    [Fact]
    public void An_available_index_more_than_the_queue_size_ahead_is_a_violation()
    {
        Activate();
        driver.SetAvailableIndex(Size + 1);

        AssertViolation("ahead of a queue");
    }

    [Fact]
    public void An_available_index_exactly_the_queue_size_ahead_is_allowed()
    {
        Activate();
        for (int index = 0; index < Size; index++)
        {
            driver.AddChain((BufferAt + (ulong)(index * 16), 16, true));
        }

        for (int index = 0; index < Size; index++)
        {
            Assert.Equal(PopResult.Chain, queue.TryPop(chain));
        }

        Assert.Equal(PopResult.Empty, queue.TryPop(chain));
    }

    [Fact]
    public void A_head_index_at_or_past_the_queue_size_is_a_violation()
    {
        Activate();
        driver.Publish(Size);

        AssertViolation("names descriptor");
    }

    [Fact]
    public void An_indirect_descriptor_inside_an_indirect_table_is_a_violation()
    {
        Activate();
        driver.SetIndirectDescriptor(TableAt, 0, TableAt.Value + 0x100, 16, DescriptorFlags.Indirect);
        driver.SetDescriptor(0, TableAt.Value, 16, DescriptorFlags.Indirect);
        driver.Publish(0);

        AssertViolation("invalid indirect");
    }

    [Fact]
    public void An_indirect_descriptor_with_next_is_a_violation()
    {
        Activate();
        driver.SetIndirectDescriptor(TableAt, 0, BufferAt.Value, 16, DescriptorFlags.Write);
        driver.SetDescriptor(0, TableAt.Value, 16, DescriptorFlags.Indirect | DescriptorFlags.Next, 1);
        driver.SetDescriptor(1, BufferAt.Value, 16, DescriptorFlags.Write);
        driver.Publish(0);

        AssertViolation("invalid indirect");
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(8u)]
    [InlineData(24u)]
    public void An_indirect_table_whose_length_is_not_a_whole_number_of_descriptors_is_a_violation(uint length)
    {
        Activate();
        driver.SetDescriptor(0, TableAt.Value, length, DescriptorFlags.Indirect);
        driver.Publish(0);

        AssertViolation("invalid indirect");
    }

    [Fact]
    public void An_indirect_table_as_large_as_the_queue_is_accepted()
    {
        // Linux's virtio-blk does this: seg_max (queue size - 2) data segments plus header and status in one indirect table.
        Activate();
        for (int index = 0; index < Size; index++)
        {
            var flags = index == 0 ? DescriptorFlags.Next : DescriptorFlags.Write | (index + 1 < Size ? DescriptorFlags.Next : 0);
            driver.SetIndirectDescriptor(TableAt, index, BufferAt.Value + (ulong)(index * 0x100), 16, flags, (ushort)(index + 1));
        }

        driver.SetDescriptor(0, TableAt.Value, Size * TestVirtqueue.DescriptorSize, DescriptorFlags.Indirect);
        driver.Publish(0);

        Assert.Equal(PopResult.Chain, queue.TryPop(chain));
        Assert.Equal(Size, chain.Count);
        Assert.Equal((ulong)(16 * (Size - 1)), chain.WritableLength);
    }

    [Fact]
    public void A_direct_chain_as_long_as_the_queue_is_accepted()
    {
        Activate();
        var buffers = Enumerable.Range(0, Size).Select(index => (BufferAt + (ulong)(index * 16), 16u, index > 0)).ToArray();
        driver.AddChain(buffers);

        Assert.Equal(PopResult.Chain, queue.TryPop(chain));
        Assert.Equal(Size, chain.Count);
    }

    [Fact]
    public void An_indirect_table_larger_than_the_queue_is_a_violation()
    {
        Activate();
        for (int index = 0; index <= Size; index++)
        {
            driver.SetIndirectDescriptor(TableAt, index, BufferAt.Value, 1, DescriptorFlags.Write | DescriptorFlags.Next, (ushort)(index + 1));
        }

        driver.SetDescriptor(0, TableAt.Value, (Size + 1) * TestVirtqueue.DescriptorSize, DescriptorFlags.Indirect);
        driver.Publish(0);

        AssertViolation("exceeds the queue size");
    }

    [Fact]
    public void An_indirect_table_outside_guest_ram_or_misaligned_is_a_violation()
    {
        Activate();
        driver.SetDescriptor(0, (16UL << 20) - 16, 32, DescriptorFlags.Indirect);
        driver.Publish(0);
        AssertViolation("not aligned guest RAM");

        // After a reset the device starts again from available slot 0, which now names a misaligned table.
        queue.Reset();
        Activate();
        driver.SetDescriptor(0, TableAt.Value + 8, 16, DescriptorFlags.Indirect);
        AssertViolation("not aligned guest RAM");
    }

    [Fact]
    public void An_indirect_table_that_loops_is_a_violation()
    {
        Activate();
        driver.SetIndirectDescriptor(TableAt, 0, BufferAt.Value, 8, DescriptorFlags.Next, 1);
        driver.SetIndirectDescriptor(TableAt, 1, BufferAt.Value, 8, DescriptorFlags.Next, 0);
        driver.SetDescriptor(0, TableAt.Value, 2 * TestVirtqueue.DescriptorSize, DescriptorFlags.Indirect);
        driver.Publish(0);

        AssertViolation("longer than its indirect table");
    }

    [Fact]
    public void A_readable_buffer_after_a_writable_one_is_a_violation()
    {
        Activate();
        driver.AddChain((BufferAt, 8, true), (BufferAt + 8, 8, false));

        AssertViolation("device-readable after a device-writable");
    }

    [Fact]
    public void A_chain_with_more_buffers_than_the_device_accepts_is_a_violation()
    {
        Activate();
        driver.AddChain((BufferAt, 8, false), (BufferAt + 8, 8, true), (BufferAt + 16, 8, true));

        Assert.Equal(PopResult.Violation, queue.TryPop(new DescriptorChain(2)));
        Assert.Contains("more buffers", queue.Violation);
    }

    [Fact]
    public void After_a_violation_the_queue_stays_broken_until_reset()
    {
        Activate();
        driver.Publish(Size);
        Assert.Equal(PopResult.Violation, queue.TryPop(chain));
        driver.AddChain((BufferAt, 8, true));

        Assert.Equal(PopResult.Violation, queue.TryPop(chain));
        Assert.False(queue.IsReady);

        queue.Reset();
        Assert.Null(queue.Violation);
        Assert.Equal(PopResult.Empty, queue.TryPop(chain));
    }

    [Theory]
    [InlineData(8UL, 0UL, 0UL)]
    [InlineData(0UL, 1UL, 0UL)]
    [InlineData(0UL, 0UL, 2UL)]
    public void Misaligned_rings_are_refused_at_activation(ulong descriptorSkew, ulong availableSkew, ulong usedSkew)
    {
        Configure(queue, driver);
        queue.DescriptorTable += descriptorSkew;
        queue.DriverArea += availableSkew;
        queue.DeviceArea += usedSkew;

        Assert.False(queue.Activate(useEventIndex: false));
        Assert.Contains("aligned", queue.Violation);
        Assert.Equal(PopResult.Violation, queue.TryPop(chain));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void Rings_outside_guest_ram_are_refused_at_activation(int ring)
    {
        Configure(queue, driver);
        var end = new GuestAddress((16UL << 20) - 16);
        switch (ring)
        {
            case 0: queue.DescriptorTable = end; break;
            case 1: queue.DriverArea = end; break;
            default: queue.DeviceArea = new GuestAddress(GuestMemory.MmioHoleStart); break;
        }

        Assert.False(queue.Activate(useEventIndex: false));
        Assert.Contains("outside guest RAM", queue.Violation);
    }

    [Theory]
    [InlineData((ushort)0)]
    [InlineData((ushort)6)]
    [InlineData((ushort)512)]
    public void A_size_that_is_zero_not_a_power_of_two_or_over_the_maximum_is_refused(ushort size)
    {
        Configure(queue, driver);
        queue.Size = size;

        Assert.False(queue.Activate(useEventIndex: false));
        Assert.Contains("not a power of two", queue.Violation);
    }

    [Fact]
    public void Push_used_writes_the_element_and_publishes_the_used_index()
    {
        Activate();
        ushort head = driver.AddChain((BufferAt, 8, true));
        Assert.Equal(PopResult.Chain, queue.TryPop(chain));
        memory.TakeDirtyPages();

        queue.PushUsed(chain.Head, 123);

        Assert.Equal(1, driver.UsedIndex);
        Assert.Equal(((uint)head, 123u), driver.UsedElement(0));
        Assert.True(memory.IsDirty(driver.Used));
    }

    [Fact]
    public void Used_entries_wrap_around_the_ring()
    {
        Activate();
        for (int round = 0; round < (3 * Size) + 1; round++)
        {
            ushort head = driver.AddChain((BufferAt, 8, true));
            Assert.Equal(PopResult.Chain, queue.TryPop(chain));
            queue.PushUsed(chain.Head, (uint)round);
            var used = Assert.Single(driver.TakeUsed());
            Assert.Equal(((uint)head, (uint)round), used);
        }

        Assert.Equal((ushort)((3 * Size) + 1), driver.UsedIndex);
    }

    [Fact]
    public void Without_event_idx_an_interrupt_is_wanted_unless_the_driver_sets_no_interrupt()
    {
        Activate();
        Assert.False(queue.NeedsInterrupt());

        PopAndPush();
        Assert.True(queue.NeedsInterrupt());
        Assert.False(queue.NeedsInterrupt());

        driver.SetAvailableFlags(1);
        PopAndPush();
        Assert.False(queue.NeedsInterrupt());

        driver.SetAvailableFlags(0);
        PopAndPush();
        Assert.True(queue.NeedsInterrupt());
    }

    [Fact]
    public void With_event_idx_an_interrupt_is_wanted_only_when_the_used_index_passes_used_event()
    {
        Activate(eventIndex: true);

        // used_event = 2: the driver wants to hear when entry 2 (the third) is used, not before.
        driver.SetUsedEvent(2);
        PopAndPush();
        Assert.False(queue.NeedsInterrupt());
        PopAndPush();
        Assert.False(queue.NeedsInterrupt());
        PopAndPush();
        Assert.True(queue.NeedsInterrupt());

        // A batch that steps over used_event still interrupts once.
        driver.SetUsedEvent(4);
        PopAndPush();
        PopAndPush();
        PopAndPush();
        Assert.True(queue.NeedsInterrupt());

        // used_event behind the batch: the driver has not caught up, so no new interrupt.
        PopAndPush();
        Assert.False(queue.NeedsInterrupt());
    }

    [Fact]
    public void With_event_idx_the_no_interrupt_flag_is_ignored()
    {
        Activate(eventIndex: true);
        driver.SetAvailableFlags(1);
        driver.SetUsedEvent(0);

        PopAndPush();

        Assert.True(queue.NeedsInterrupt());
    }

    [Fact]
    public void With_event_idx_avail_event_follows_what_the_device_consumed()
    {
        Activate(eventIndex: true);
        Assert.Equal(PopResult.Empty, queue.TryPop(chain));
        Assert.Equal(0, driver.AvailableEvent);

        driver.AddChain((BufferAt, 8, true));
        driver.AddChain((BufferAt, 8, true));
        Assert.Equal(PopResult.Chain, queue.TryPop(chain));
        Assert.Equal(1, driver.AvailableEvent);
        Assert.Equal(PopResult.Chain, queue.TryPop(chain));
        Assert.Equal(PopResult.Empty, queue.TryPop(chain));
        Assert.Equal(2, driver.AvailableEvent);
    }

    [Fact]
    public void Without_event_idx_avail_event_is_never_written()
    {
        Activate();
        memory.Write(driver.Used + 4 + (8UL * Size), (ushort)0xBEEF);
        driver.AddChain((BufferAt, 8, true));

        Assert.Equal(PopResult.Chain, queue.TryPop(chain));
        Assert.Equal(PopResult.Empty, queue.TryPop(chain));

        Assert.Equal(0xBEEF, driver.AvailableEvent);
    }

    private void PopAndPush()
    {
        driver.AddChain((BufferAt, 8, true));
        Assert.Equal(PopResult.Chain, queue.TryPop(chain));
        queue.PushUsed(chain.Head, 8);
    }

    private void Activate(bool eventIndex = false)
    {
        Configure(queue, driver);
        Assert.True(queue.Activate(eventIndex));
    }

    private static SplitVirtqueue Configure(SplitVirtqueue split, TestVirtqueue ring)
    {
        split.Size = ring.Size;
        split.DescriptorTable = ring.Descriptors;
        split.DriverArea = ring.Available;
        split.DeviceArea = ring.Used;
        split.Enable();
        return split;
    }

    private void AssertViolation(string why)
    {
        Assert.Equal(PopResult.Violation, queue.TryPop(chain));
        Assert.NotNull(queue.Violation);
        Assert.Contains(why, queue.Violation);
        Assert.False(queue.IsReady);
    }
}

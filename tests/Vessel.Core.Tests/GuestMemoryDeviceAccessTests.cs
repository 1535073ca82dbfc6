using Vessel.Core.Memory;

namespace Vessel.Core.Tests;

public sealed class GuestMemoryDeviceAccessTests
{
    private sealed class RecordingObserver : IGuestMemoryWriteObserver
    {
        public List<(ulong Address, ulong Length)> Writes { get; } = [];

        public void OnExternalWrite(ulong physicalAddress, ulong length) => Writes.Add((physicalAddress, length));
    }

    [Fact]
    public void Try_accessors_refuse_ranges_that_leave_ram_without_throwing()
    {
        using var memory = GuestMemory.Create(4UL << 20);
        var buffer = new byte[16];

        Assert.False(memory.TryRead(new GuestAddress((4UL << 20) - 8), buffer));
        Assert.False(memory.TryWrite(new GuestAddress(ulong.MaxValue - 7), buffer));
        Assert.False(memory.TryGetSpan(new GuestAddress(0), -1, out _));
        Assert.False(memory.TryGetHostAddress(new GuestAddress(0x1000), ulong.MaxValue, out _));
        Assert.False(memory.TryGetHostAddress(new GuestAddress(ulong.MaxValue), 2, out _));
        Assert.True(memory.TryRead(new GuestAddress((4UL << 20) - 16), buffer));
    }

    [Fact]
    public void A_range_that_crosses_from_low_ram_into_the_mmio_hole_is_refused()
    {
        using var memory = GuestMemory.Create(GuestMemory.MmioHoleStart + (1UL << 20));

        Assert.False(memory.TryGetSpan(new GuestAddress(GuestMemory.MmioHoleStart - 8), 16, out _));
        Assert.False(memory.TryGetHostAddress(new GuestAddress(GuestMemory.MmioHoleStart - 8), 16, out _));
        Assert.False(memory.TryRead(new GuestAddress(GuestMemory.FourGiB - 8), new byte[16]));
        Assert.True(memory.TryGetSpan(new GuestAddress(GuestMemory.MmioHoleStart - 16), 16, out _));
        Assert.True(memory.TryGetSpan(new GuestAddress(GuestMemory.FourGiB), 16, out _));
    }

    [Fact]
    public void A_device_write_marks_every_page_it_touches_dirty_and_tells_observers()
    {
        using var memory = GuestMemory.Create(4UL << 20);
        var observer = new RecordingObserver();
        memory.AddWriteObserver(observer);

        Assert.True(memory.TryWrite(new GuestAddress(0x1FFE), [1, 2, 3, 4]));

        Assert.True(memory.IsDirty(new GuestAddress(0x1000)));
        Assert.True(memory.IsDirty(new GuestAddress(0x2000)));
        Assert.False(memory.IsDirty(new GuestAddress(0x3000)));
        Assert.Equal([(0x1FFEUL, 4UL)], observer.Writes);
        Assert.Equal(3, memory.Read<byte>(new GuestAddress(0x2000)));
    }

    [Fact]
    public void A_refused_write_changes_nothing_and_tells_nobody()
    {
        using var memory = GuestMemory.Create(4UL << 20);
        var observer = new RecordingObserver();
        memory.AddWriteObserver(observer);

        Assert.False(memory.TryWrite(new GuestAddress((4UL << 20) - 2), [1, 2, 3, 4]));

        Assert.Empty(observer.Writes);
        Assert.False(memory.IsDirty(new GuestAddress((4UL << 20) - 2)));
        Assert.Equal(0, memory.Read<ushort>(new GuestAddress((4UL << 20) - 2)));
    }

    [Fact]
    public void Taking_the_dirty_log_returns_one_bit_per_page_and_clears_it()
    {
        using var memory = GuestMemory.Create(4UL << 20);
        memory.NotifyExternalWrite(new GuestAddress(0x41_000), 1);
        memory.NotifyExternalWrite(new GuestAddress(0x3F_F000), 0x1000);
        memory.NotifyExternalWrite(new GuestAddress(0x10_000), 0);

        ulong[] dirty = memory.TakeDirtyPages();

        Assert.Equal(1024 / 64, dirty.Length);
        Assert.Equal(1UL << 1, dirty[1]);
        Assert.Equal(1UL << 63, dirty[15]);
        Assert.Equal(0UL, dirty[0]);
        Assert.All(memory.TakeDirtyPages(), word => Assert.Equal(0UL, word));
    }

    [Fact]
    public void Dirty_pages_above_4_gib_are_tracked_at_their_guest_physical_page()
    {
        using var memory = GuestMemory.Create(GuestMemory.MmioHoleStart + (1UL << 20));
        var high = new GuestAddress(GuestMemory.FourGiB + 0x5000);

        Assert.True(memory.TryWrite(high, [7]));

        Assert.True(memory.IsDirty(high));
        ulong page = high.Value / GuestMemory.PageSize;
        Assert.NotEqual(0UL, memory.TakeDirtyPages()[page / 64] & (1UL << (int)(page % 64)));
    }
}

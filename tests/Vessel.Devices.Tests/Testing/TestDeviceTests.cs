using Vessel.Devices.Testing;
using Vessel.Devices.Tests.Fakes;

namespace Vessel.Devices.Tests.Testing;

public sealed class TestDeviceTests
{
    private readonly Dictionary<int, FakeInterruptLine> lines = [];
    private readonly TestDevice device;

    public TestDeviceTests() => device = new TestDevice(gsi => lines[gsi] = new FakeInterruptLine());

    [Fact]
    public void Data_latch_reads_back_the_doubleword_written()
    {
        device.DataLatch.Write(0, [0x78, 0x56, 0x34, 0x12]);
        Span<byte> value = stackalloc byte[4];

        device.DataLatch.Read(0, value);

        Assert.Equal(0x12345678u, BitConverter.ToUInt32(value));
    }

    [Fact]
    public void Data_latch_keeps_byte_lanes_apart_so_a_word_written_high_reads_back_in_the_upper_half()
    {
        device.DataLatch.Write(0, [0x11, 0x22, 0x33, 0x44]);
        device.DataLatch.Write(2, [0xCD, 0xAB]);
        Span<byte> value = stackalloc byte[4];

        device.DataLatch.Read(0, value);

        Assert.Equal(0xABCD2211u, BitConverter.ToUInt32(value));
    }

    [Fact]
    public void Memory_behaves_as_ram_across_its_whole_64_KiB()
    {
        device.Memory.Write(0xFFF8, [1, 2, 3, 4, 5, 6, 7, 8]);
        device.Memory.Write(0, [0x5A]);
        Span<byte> tail = stackalloc byte[8];
        Span<byte> head = stackalloc byte[1];

        device.Memory.Read(0xFFF8, tail);
        device.Memory.Read(0, head);

        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }, tail.ToArray());
        Assert.Equal(0x5A, head[0]);
        Assert.Equal(TestDevice.MemorySize, device.Memory.Size);
    }

    [Fact]
    public void Memory_reads_past_its_end_as_all_ones_and_ignores_writes_there()
    {
        device.Memory.Write(TestDevice.MemorySize - 1, [0x42, 0x43]);
        Span<byte> value = stackalloc byte[2];

        device.Memory.Read(TestDevice.MemorySize - 1, value);

        Assert.Equal(new byte[] { 0x42, 0xFF }, value.ToArray());
    }

    [Fact]
    public void Writing_to_interrupt_line_port_n_drives_gsi_n()
    {
        device.InterruptLines.Write(14, [1]);
        Assert.True(lines[14].Asserted);
        Assert.False(lines[15].Asserted);

        device.InterruptLines.Write(14, [0]);
        Assert.False(lines[14].Asserted);
    }

    [Fact]
    public void There_is_one_interrupt_line_per_ioapic_pin()
    {
        Assert.Equal(TestInterruptLines.Count, lines.Count);

        device.InterruptLines.Write(TestInterruptLines.Count - 1, [7]);

        Assert.True(lines[TestInterruptLines.Count - 1].Asserted);
    }

    [Fact]
    public void Flush_page_writes_are_accepted_and_read_as_zero()
    {
        device.FlushPage.Write(0, [0x00, 0x10, 0x00, 0x00]);
        Span<byte> value = [0xAA, 0xAA, 0xAA, 0xAA];

        device.FlushPage.Read(0, value);

        Assert.Equal(new byte[4], value.ToArray());
    }
}

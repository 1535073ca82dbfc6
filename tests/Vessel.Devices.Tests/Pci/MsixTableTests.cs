using System.Buffers.Binary;
using Vessel.Devices.Pci;
using Vessel.Devices.Tests.Fakes;

namespace Vessel.Devices.Tests.Pci;

public sealed class MsixTableTests
{
    private readonly FakeMsiSink sink = new();
    private readonly MsixTable table;

    public MsixTableTests()
    {
        table = new MsixTable(3, sink);
    }

    [Fact]
    public void A_disabled_table_refuses_to_notify_so_the_caller_falls_back_to_intx()
    {
        Program(0, 0xFEE0_0000, 0x41, masked: false);

        Assert.False(table.Notify(0));
        Assert.Empty(sink.Messages);
        Assert.Equal(0UL, PendingBits());
    }

    [Fact]
    public void An_enabled_unmasked_vector_sends_its_programmed_message()
    {
        Program(1, 0xFEE0_1000, 0x42, masked: false);
        table.SetControl(MsixTable.EnableBit);

        Assert.True(table.Notify(1));

        Assert.Equal([(0xFEE0_1000UL, 0x42u)], sink.Messages);
    }

    [Fact]
    public void Every_vector_starts_masked_so_a_notify_only_sets_its_pending_bit()
    {
        table.SetControl(MsixTable.EnableBit);

        Assert.True(table.Notify(2));

        Assert.Empty(sink.Messages);
        Assert.Equal(1UL << 2, PendingBits());
        Span<byte> control = stackalloc byte[4];
        table.Table.Read((2 * MsixTable.EntrySize) + 12, control);
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(control));
    }

    [Fact]
    public void A_masked_vector_delivers_its_pending_message_when_unmasked()
    {
        table.SetControl(MsixTable.EnableBit);
        Program(1, 0xFEE0_0000, 0x51, masked: true);
        Assert.True(table.Notify(1));
        Assert.True(table.Notify(1));
        Assert.Empty(sink.Messages);
        Assert.Equal(1UL << 1, PendingBits());

        Program(1, 0xFEE0_0000, 0x51, masked: false);

        Assert.Equal([(0xFEE0_0000UL, 0x51u)], sink.Messages);
        Assert.Equal(0UL, PendingBits());
    }

    [Fact]
    public void The_function_mask_holds_every_vector_pending_until_it_is_cleared()
    {
        Program(0, 0xFEE0_0000, 0x60, masked: false);
        Program(2, 0xFEE0_0000, 0x62, masked: false);
        table.SetControl(MsixTable.EnableBit | MsixTable.FunctionMaskBit);

        Assert.True(table.Notify(0));
        Assert.True(table.Notify(2));
        Assert.Empty(sink.Messages);
        Assert.Equal(0b101UL, PendingBits());

        table.SetControl(MsixTable.EnableBit);

        Assert.Equal([(0xFEE0_0000UL, 0x60u), (0xFEE0_0000UL, 0x62u)], sink.Messages);
        Assert.Equal(0UL, PendingBits());
    }

    [Fact]
    public void A_vector_past_the_table_is_refused()
    {
        table.SetControl(MsixTable.EnableBit);

        Assert.False(table.Notify(3));
        Assert.False(table.Notify(-1));
        Assert.Empty(sink.Messages);
    }

    [Fact]
    public void Accesses_past_the_table_read_zero_and_are_ignored()
    {
        var data = new byte[8];
        table.Table.Write((ulong)table.TableSize, [1, 2, 3, 4]);
        table.Table.Write(ulong.MaxValue - 2, [1, 2, 3, 4]);
        table.Table.Read((ulong)table.TableSize - 4, data);

        Assert.Equal(new byte[] { 1, 0, 0, 0, 0, 0, 0, 0 }, data);
    }

    [Fact]
    public void The_pba_ignores_writes()
    {
        table.SetControl(MsixTable.EnableBit);
        table.Notify(0);

        table.PendingBits.Write(0, [0, 0, 0, 0, 0, 0, 0, 0]);

        Assert.Equal(1UL, PendingBits());
    }

    [Fact]
    public void The_capability_body_names_the_table_size_bars_and_offsets()
    {
        var (body, writable) = table.CapabilityBody(0, 0x4000, 2, 0x6000);

        Assert.Equal(2, BinaryPrimitives.ReadUInt16LittleEndian(body));
        Assert.Equal(0x4000u, BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan(2)));
        Assert.Equal(0x6002u, BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan(6)));
        Assert.Equal(MsixTable.EnableBit | MsixTable.FunctionMaskBit, BinaryPrimitives.ReadUInt16LittleEndian(writable));
        Assert.All(writable.AsSpan(2).ToArray(), bits => Assert.Equal(0, bits));
    }

    [Fact]
    public void Reset_masks_every_vector_and_forgets_pending_messages()
    {
        Program(0, 0xFEE0_0000, 0x70, masked: false);
        table.SetControl(MsixTable.EnableBit | MsixTable.FunctionMaskBit);
        table.Notify(0);

        table.Reset();
        table.SetControl(MsixTable.EnableBit);

        Assert.True(table.Enabled);
        Assert.Equal(0UL, PendingBits());
        Assert.Empty(sink.Messages);
        Assert.True(table.Notify(0));
        Assert.Empty(sink.Messages);
    }

    private void Program(int vector, ulong address, uint data, bool masked)
    {
        var entry = new byte[MsixTable.EntrySize];
        BinaryPrimitives.WriteUInt64LittleEndian(entry, address);
        BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(8), data);
        BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(12), masked ? 1u : 0u);
        table.Table.Write((ulong)(vector * MsixTable.EntrySize), entry);
    }

    private ulong PendingBits()
    {
        var bits = new byte[8];
        table.PendingBits.Read(0, bits);
        return BinaryPrimitives.ReadUInt64LittleEndian(bits);
    }
}

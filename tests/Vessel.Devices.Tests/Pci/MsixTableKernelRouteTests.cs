using System.Buffers.Binary;
using Vessel.Devices.Pci;
using Vessel.Devices.Tests.Fakes;

namespace Vessel.Devices.Tests.Pci;

/// <summary>MSI-X over kernel MSI routes (KVM irqfds): the table's masks and pending bits still decide what fires.</summary>
public sealed class MsixTableKernelRouteTests
{
    private const ulong Address = 0xFEE0_1000;

    [Fact]
    public void A_notify_on_an_unmasked_vector_signals_its_route_with_the_programmed_message()
    {
        var (table, kernel, sink) = Create(vectors: 2);
        Program(table, vector: 1, Address, data: 0x41, masked: false);
        table.SetControl(MsixTable.EnableBit);

        Assert.True(table.Notify(1));

        Assert.Equal([(Address, 0x41u)], kernel.Routes[1].Signals);
        Assert.Empty(kernel.Routes[0].Signals);
        Assert.Empty(sink.Messages);
    }

    [Fact]
    public void A_masked_vector_does_not_fire_but_is_pending_and_fires_once_when_unmasked()
    {
        var (table, kernel, _) = Create(vectors: 1);
        Program(table, vector: 0, Address, data: 0x30, masked: true);
        table.SetControl(MsixTable.EnableBit);

        Assert.True(table.Notify(0));
        Assert.True(table.Notify(0));

        Assert.Empty(kernel.Routes[0].Signals);
        Assert.Equal(1, PendingBits(table) & 1);

        SetMask(table, vector: 0, masked: false);

        Assert.Equal([(Address, 0x30u)], kernel.Routes[0].Signals);
        Assert.Equal(0, PendingBits(table) & 1);
    }

    [Fact]
    public void The_function_mask_holds_every_vector_back_until_it_is_cleared()
    {
        var (table, kernel, _) = Create(vectors: 1);
        Program(table, vector: 0, Address, data: 0x30, masked: false);
        table.SetControl(MsixTable.EnableBit | MsixTable.FunctionMaskBit);

        table.Notify(0);
        Assert.Empty(kernel.Routes[0].Signals);

        table.SetControl(MsixTable.EnableBit);
        Assert.Single(kernel.Routes[0].Signals);
    }

    [Fact]
    public void With_msi_x_disabled_nothing_reaches_the_kernel()
    {
        var (table, kernel, sink) = Create(vectors: 1);
        Program(table, vector: 0, Address, data: 0x30, masked: false);

        Assert.False(table.Notify(0));

        Assert.Empty(kernel.Routes[0].Signals);
        Assert.Empty(sink.Messages);
    }

    [Fact]
    public void The_route_is_reprogrammed_when_the_guest_changes_the_entry_and_only_then()
    {
        var (table, kernel, _) = Create(vectors: 1);
        Program(table, vector: 0, Address, data: 0x30, masked: false);
        table.SetControl(MsixTable.EnableBit);
        table.Notify(0);
        table.Notify(0);
        int updates = kernel.Routes[0].MessageUpdates;

        SetMask(table, vector: 0, masked: true);
        Program(table, vector: 0, Address, data: 0x31, masked: false);
        table.Notify(0);

        Assert.Equal((Address, 0x31u), kernel.Routes[0].Message);
        Assert.Equal([(Address, 0x30u), (Address, 0x30u), (Address, 0x31u)], kernel.Routes[0].Signals);
        Assert.Equal(updates + 1, kernel.Routes[0].MessageUpdates);
    }

    [Fact]
    public void A_message_the_kernel_refuses_is_sent_directly_instead()
    {
        var (table, kernel, sink) = Create(vectors: 1);
        kernel.RefuseMessages = true;
        Program(table, vector: 0, 0xDEAD_0000, data: 0x30, masked: false);
        table.SetControl(MsixTable.EnableBit);

        table.Notify(0);

        Assert.Empty(kernel.Routes[0].Signals);
        Assert.Equal([(0xDEAD_0000UL, 0x30u)], sink.Messages);
    }

    [Fact]
    public void A_vector_the_kernel_has_no_gsi_for_uses_the_direct_path()
    {
        var kernel = new FakeKernelIoEvents { RouteLimit = 1 };
        var sink = new RecordingMsiSink();
        var table = new MsixTable(2, sink, kernel);
        Program(table, vector: 0, Address, data: 0x30, masked: false);
        Program(table, vector: 1, Address, data: 0x31, masked: false);
        table.SetControl(MsixTable.EnableBit);

        table.Notify(0);
        table.Notify(1);

        Assert.Equal(1, table.KernelRouteCount);
        Assert.Single(kernel.Routes[0].Signals);
        Assert.Equal([(Address, 0x31u)], sink.Messages);
    }

    [Fact]
    public void Disposing_the_table_releases_its_routes_and_later_notifies_go_direct()
    {
        var (table, kernel, sink) = Create(vectors: 2);
        Program(table, vector: 0, Address, data: 0x30, masked: false);
        table.SetControl(MsixTable.EnableBit);

        table.Dispose();
        table.Notify(0);

        Assert.All(kernel.Routes, route => Assert.True(route.Disposed));
        Assert.Empty(kernel.Routes[0].Signals);
        Assert.Equal([(Address, 0x30u)], sink.Messages);
    }

    private static (MsixTable Table, FakeKernelIoEvents Kernel, RecordingMsiSink Sink) Create(int vectors)
    {
        var kernel = new FakeKernelIoEvents();
        var sink = new RecordingMsiSink();
        return (new MsixTable(vectors, sink, kernel), kernel, sink);
    }

    private static void Program(MsixTable table, int vector, ulong address, uint data, bool masked)
    {
        Span<byte> entry = stackalloc byte[MsixTable.EntrySize];
        BinaryPrimitives.WriteUInt64LittleEndian(entry, address);
        BinaryPrimitives.WriteUInt32LittleEndian(entry[8..], data);
        BinaryPrimitives.WriteUInt32LittleEndian(entry[12..], masked ? 1u : 0u);

        // Dword by dword, as Linux writes it.
        for (int offset = 0; offset < MsixTable.EntrySize; offset += 4)
        {
            table.Table.Write((ulong)((vector * MsixTable.EntrySize) + offset), entry.Slice(offset, 4));
        }
    }

    private static void SetMask(MsixTable table, int vector, bool masked)
    {
        Span<byte> control = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(control, masked ? 1u : 0u);
        table.Table.Write((ulong)((vector * MsixTable.EntrySize) + 12), control);
    }

    private static int PendingBits(MsixTable table)
    {
        Span<byte> bits = stackalloc byte[8];
        table.PendingBits.Read(0, bits);
        return (int)BinaryPrimitives.ReadUInt64LittleEndian(bits);
    }
}

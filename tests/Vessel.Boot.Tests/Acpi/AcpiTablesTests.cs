using System.Text;
using Vessel.Boot.Acpi;
using Vessel.Boot.Tests.Fixtures;
using Vessel.Core.Memory;

namespace Vessel.Boot.Tests.Acpi;

public sealed class AcpiTablesTests
{
    private static readonly AcpiPlatform Platform = new()
    {
        ProcessorCount = 2,
        SciInterrupt = 9,
        Pm1aEventBlockPort = 0x600,
        Pm1aControlBlockPort = 0x604,
        ResetRegisterPort = 0x606,
        ResetValue = 1,
        SoftOffSleepType = 5,
        IsaDevices = [new IsaDevice("COM1", "PNP0501", [(0x3F8, 8)], 4)],
    };

    [Fact]
    public void The_rsdp_at_0xe0000_is_revision_2_with_both_checksums_and_points_at_the_xsdt()
    {
        using var memory = GuestMemory.Create(GuestMemoryReader.SixtyFourMiB);

        var layout = AcpiTables.Write(memory, Platform);

        Assert.Equal(0xE0000UL, layout.RsdpAddress);
        byte[] rsdp = memory.Bytes(layout.RsdpAddress, Rsdp.Size);
        Assert.Equal("RSD PTR ", Encoding.ASCII.GetString(rsdp, 0, 8));
        Assert.Equal(2, rsdp[15]);
        Assert.Equal(0, Sum(rsdp.AsSpan(0, 20)));
        Assert.Equal(0, Sum(rsdp));
        Assert.Equal(layout.XsdtAddress, memory.U64(layout.RsdpAddress + 24));
    }

    [Fact]
    public void Every_table_sums_to_zero_and_lies_in_the_bios_area()
    {
        using var memory = GuestMemory.Create(GuestMemoryReader.SixtyFourMiB);

        var layout = AcpiTables.Write(memory, Platform);

        foreach (ulong address in new[] { layout.XsdtAddress, layout.FadtAddress, layout.DsdtAddress, layout.MadtAddress })
        {
            uint length = memory.U32(address + 4);
            Assert.Equal(0, Sum(memory.Bytes(address, (int)length)));
            Assert.InRange(address + length, 0xE0000UL, 0x100000UL);
        }

        Assert.Equal(0UL, layout.FacsAddress % 64);
        Assert.Equal("FACS", Encoding.ASCII.GetString(memory.Bytes(layout.FacsAddress, 4)));
    }

    [Fact]
    public void The_xsdt_lists_the_fadt_and_the_madt()
    {
        using var memory = GuestMemory.Create(GuestMemoryReader.SixtyFourMiB);

        var layout = AcpiTables.Write(memory, Platform);

        Assert.Equal(AcpiTable.HeaderSize + 16U, memory.U32(layout.XsdtAddress + 4));
        Assert.Equal(layout.FadtAddress, memory.U64(layout.XsdtAddress + 36));
        Assert.Equal(layout.MadtAddress, memory.U64(layout.XsdtAddress + 44));
        Assert.Equal("FACP", Encoding.ASCII.GetString(memory.Bytes(layout.FadtAddress, 4)));
        Assert.Equal("APIC", Encoding.ASCII.GetString(memory.Bytes(layout.MadtAddress, 4)));
    }

    [Fact]
    public void The_fadt_is_a_full_revision_6_table_with_the_pm_blocks_sci_and_reset_register()
    {
        byte[] fadt = Fadt.Build(Platform, facsAddress: 0xE0040, dsdtAddress: 0xE0080);
        using var memory = GuestMemory.Create(GuestMemoryReader.SixtyFourMiB);
        memory.WriteBytes(new GuestAddress(0x1000), fadt);

        Assert.Equal(Fadt.Size, fadt.Length);
        Assert.Equal(6, fadt[8]);
        Assert.Equal(5, fadt[131]);
        Assert.Equal(0xE0040U, memory.U32(0x1000 + 36));
        Assert.Equal(0xE0080U, memory.U32(0x1000 + 40));
        Assert.Equal((ushort)9, memory.U16(0x1000 + 46));
        Assert.Equal(0U, memory.U32(0x1000 + 48));
        Assert.Equal(0x600U, memory.U32(0x1000 + 56));
        Assert.Equal(0x604U, memory.U32(0x1000 + 64));
        Assert.Equal(4, fadt[88]);
        Assert.Equal(2, fadt[89]);
        uint flags = memory.U32(0x1000 + 112);
        Assert.NotEqual(0U, flags & (uint)FadtFlags.ResetRegisterSupported);
        Assert.Equal(0U, flags & (uint)FadtFlags.HardwareReducedAcpi);
        Assert.Equal(new byte[] { 1, 8, 0, 1 }, fadt[116..120]);
        Assert.Equal(0x606UL, memory.U64(0x1000 + 120));
        Assert.Equal(1, fadt[128]);
        Assert.Equal(0xE0040UL, memory.U64(0x1000 + 132));
        Assert.Equal(0xE0080UL, memory.U64(0x1000 + 140));
        Assert.Equal(new byte[] { 1, 32, 0, 0 }, fadt[148..152]);
        Assert.Equal(0x600UL, memory.U64(0x1000 + 152));
        Assert.Equal(new byte[] { 1, 16, 0, 0 }, fadt[172..176]);
        Assert.Equal(0x604UL, memory.U64(0x1000 + 176));
    }

    [Fact]
    public void The_madt_has_a_local_apic_per_processor_the_ioapic_the_sci_override_and_lint1_nmi()
    {
        byte[] madt = Madt.Build(Platform with { ProcessorCount = 3 });

        Assert.Equal(0xFEE00000U, BitConverter.ToUInt32(madt, 36));
        Assert.Equal(1U, BitConverter.ToUInt32(madt, 40));
        var entries = new List<byte[]>();
        for (int offset = 44; offset < madt.Length; offset += madt[offset + 1])
        {
            entries.Add(madt[offset..(offset + madt[offset + 1])]);
        }

        Assert.Equal([0, 0, 0, 1, 2, 4], entries.Select(e => e[0]));
        for (int cpu = 0; cpu < 3; cpu++)
        {
            Assert.Equal(new byte[] { 0, 8, (byte)cpu, (byte)cpu, 1, 0, 0, 0 }, entries[cpu]);
        }

        Assert.Equal(new byte[] { 1, 12, 0, 0, 0x00, 0x00, 0xC0, 0xFE, 0, 0, 0, 0 }, entries[3]);
        Assert.Equal(new byte[] { 2, 10, 0, 9, 9, 0, 0, 0, 0x0D, 0 }, entries[4]);
        Assert.Equal(new byte[] { 4, 6, 0xFF, 0, 0, 1 }, entries[5]);
    }

    [Fact]
    public void The_dsdt_defines_s5_with_the_soft_off_sleep_type()
    {
        byte[] dsdt = Dsdt.Build(Platform with { IsaDevices = [] });

        // Name (\_S5_, Package (4) { 5, 5, 0, 0 })
        Assert.Equal(
            new byte[] { 0x08, (byte)'\\', (byte)'_', (byte)'S', (byte)'5', (byte)'_', 0x12, 0x08, 0x04, 0x0A, 5, 0x0A, 5, 0x00, 0x00 },
            dsdt[AcpiTable.HeaderSize..]);
    }

    [Fact]
    public void The_dsdt_describes_com1_with_its_ports_and_irq()
    {
        byte[] dsdt = Dsdt.Build(Platform);
        byte[] aml = dsdt[AcpiTable.HeaderSize..];

        // EisaId ("PNP0501") and the _CRS bytes: IO (Decode16, 0x3F8, 0x3F8, 1, 8), IRQNoFlags () {4}, End Tag.
        Assert.True(aml.AsSpan().IndexOf(new byte[] { 0x0C, 0x41, 0xD0, 0x05, 0x01 }) > 0);
        Assert.True(aml.AsSpan().IndexOf(new byte[] { 0x47, 1, 0xF8, 3, 0xF8, 3, 1, 8, 0x22, 0x10, 0, 0x79, 0 }) > 0);
        Assert.True(aml.AsSpan().IndexOf("\\_SB_"u8) > 0);
    }

    [Fact]
    public void Too_many_processors_for_xapic_entries_are_refused()
    {
        using var memory = GuestMemory.Create(GuestMemoryReader.SixtyFourMiB);

        Assert.Throws<ArgumentOutOfRangeException>(() => AcpiTables.Write(memory, Platform with { ProcessorCount = 256 }));
    }

    private static int Sum(ReadOnlySpan<byte> bytes)
    {
        int sum = 0;
        foreach (byte value in bytes)
        {
            sum += value;
        }

        return sum & 0xFF;
    }
}

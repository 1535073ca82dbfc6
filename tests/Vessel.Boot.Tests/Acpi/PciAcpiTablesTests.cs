using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Vessel.Boot.Acpi;
using Vessel.Boot.Tests.Fixtures;
using Vessel.Boot.Tests.Infrastructure;
using Vessel.Core.Memory;
using Xunit.Abstractions;

namespace Vessel.Boot.Tests.Acpi;

public sealed class PciAcpiTablesTests(ITestOutputHelper output)
{
    private static readonly PciRootDescription Pci = new()
    {
        EcamBase = 0xB000_0000,
        LastBus = 0,
        Mmio32Start = 0xC000_0000,
        Mmio32Size = 0x3000_0000,
        Mmio64Start = 0x10_0000_0000,
        Mmio64Size = 0x10_0000_0000,
        InterruptRoutes = [(1, 16), (2, 17), (5, 18)],
    };

    private static readonly AcpiPlatform Platform = new()
    {
        ProcessorCount = 1,
        SciInterrupt = 9,
        Pm1aEventBlockPort = 0x600,
        Pm1aControlBlockPort = 0x604,
        ResetRegisterPort = 0x606,
        ResetValue = 1,
        SoftOffSleepType = 5,
        IsaDevices = [new IsaDevice("COM1", "PNP0501", [(0x3F8, 8)], 4)],
        Pci = Pci,
    };

    [Fact]
    public void The_mcfg_names_the_ecam_base_segment_0_and_the_bus_range_and_sums_to_zero()
    {
        byte[] mcfg = Mcfg.Build(Pci with { LastBus = 7 });

        Assert.Equal("MCFG", Encoding.ASCII.GetString(mcfg, 0, 4));
        Assert.Equal(60u, BinaryPrimitives.ReadUInt32LittleEndian(mcfg.AsSpan(4)));
        Assert.Equal(60, mcfg.Length);
        Assert.Equal(Mcfg.Revision, mcfg[8]);
        Assert.Equal(0, Sum(mcfg));
        Assert.Equal(0UL, BinaryPrimitives.ReadUInt64LittleEndian(mcfg.AsSpan(36)));
        Assert.Equal(0xB000_0000UL, BinaryPrimitives.ReadUInt64LittleEndian(mcfg.AsSpan(44)));
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(mcfg.AsSpan(52)));
        Assert.Equal(0, mcfg[54]);
        Assert.Equal(7, mcfg[55]);
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(mcfg.AsSpan(56)));
    }

    [Fact]
    public void The_xsdt_lists_the_mcfg_when_the_machine_has_pci()
    {
        using var memory = GuestMemory.Create(GuestMemoryReader.SixtyFourMiB);

        var layout = AcpiTables.Write(memory, Platform);

        Assert.NotNull(layout.McfgAddress);
        uint xsdtLength = memory.U32(layout.XsdtAddress + 4);
        var entries = Enumerable.Range(0, (int)(xsdtLength - AcpiTable.HeaderSize) / 8)
            .Select(index => memory.U64(layout.XsdtAddress + AcpiTable.HeaderSize + (ulong)(8 * index)))
            .ToList();
        Assert.Contains(layout.McfgAddress!.Value, entries);
        Assert.Equal("MCFG", Encoding.ASCII.GetString(memory.Bytes(layout.McfgAddress.Value, 4)));
        Assert.Equal(0, Sum(memory.Bytes(layout.McfgAddress.Value, (int)memory.U32(layout.McfgAddress.Value + 4))));
    }

    [Fact]
    public void The_dsdt_has_pci0_as_a_pnp0a08_bridge_with_one_prt_entry_per_route()
    {
        byte[] dsdt = Dsdt.Build(Platform);
        byte[] aml = dsdt[AcpiTable.HeaderSize..];

        Assert.Equal(0, Sum(dsdt));
        Assert.True(IndexOf(aml, "PCI0"u8) > 0, "no PCI0 device");

        // Name (_HID, EisaId ("PNP0A08")): NameOp, "_HID", DWordPrefix, the compressed EISA ID 0x080AD041.
        byte[] hid = [0x08, (byte)'_', (byte)'H', (byte)'I', (byte)'D', 0x0C, 0x41, 0xD0, 0x0A, 0x08];
        Assert.True(IndexOf(aml, hid) > IndexOf(aml, "PCI0"u8), "PCI0 has no _HID PNP0A08");

        // Name (_PRT, Package (3) { Package (4) { 0xSSSSFFFF, 0, 0, GSI } ... }).
        int prt = IndexOf(aml, "_PRT"u8);
        Assert.True(prt > 0, "no _PRT");
        Assert.Equal(0x12, aml[prt + 4]);
        int lengthBytes = 1 + (aml[prt + 5] >> 6);
        Assert.Equal(Pci.InterruptRoutes.Count, aml[prt + 5 + lengthBytes]);
        foreach (var (slot, gsi) in Pci.InterruptRoutes)
        {
            // DWordPrefix address (slot << 16 | 0xFFFF), pin 0, source 0, then the GSI.
            byte[] entry = [0x0C, 0xFF, 0xFF, (byte)slot, 0, 0x00, 0x00, 0x0A, (byte)gsi];
            Assert.True(IndexOf(aml, entry) > prt, $"no _PRT entry for slot {slot} -> GSI {gsi}");
        }
    }

    [Fact]
    public void A_dsdt_without_routes_has_no_prt()
    {
        byte[] dsdt = Dsdt.Build(Platform with { Pci = Pci with { InterruptRoutes = [] } });

        Assert.True(IndexOf(dsdt, "PCI0"u8) > 0);
        Assert.Equal(-1, IndexOf(dsdt, "_PRT"u8));
    }

    [RequiresIaslFact]
    public void Iasl_disassembles_the_dsdt_cleanly_and_reads_back_pci0_and_its_prt()
    {
        string iasl = Iasl.Path!;
        string directory = Directory.CreateTempSubdirectory("vessel-dsdt-").FullName;
        try
        {
            string table = Path.Combine(directory, "dsdt.dat");
            File.WriteAllBytes(table, Dsdt.Build(Platform));

            var (disassembled, disassembly) = Run(iasl, directory, "-d", table);
            Assert.True(disassembled == 0, $"iasl -d failed:\n{disassembly}");
            string source = File.ReadAllText(Path.Combine(directory, "dsdt.dsl"));
            output.WriteLine(source);

            Assert.Contains("Device (PCI0)", source);
            Assert.Matches("Name \\(_HID, EisaId \\(\"PNP0A08\"\\)", source);
            Assert.Matches("Name \\(_CID, EisaId \\(\"PNP0A03\"\\)", source);
            Assert.Contains("Name (_PRT, Package (0x03)", source);
            foreach (var (slot, gsi) in Pci.InterruptRoutes)
            {
                Assert.Contains($"0x{slot:X4}FFFF", source);
                Assert.Contains($"0x{gsi:X2}", source);
            }

            Assert.Contains("WordBusNumber", source);
            Assert.Contains("QWordMemory", source);

            // Compiling the disassembly back must succeed with no errors: the AML was well formed, not just readable.
            var (compiled, compilation) = Run(iasl, directory, "-p", Path.Combine(directory, "recompiled"), Path.Combine(directory, "dsdt.dsl"));
            Assert.True(compiled == 0, $"iasl could not compile the disassembly:\n{compilation}");
            Assert.Contains(" 0 Errors", compilation);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static (int ExitCode, string Output) Run(string program, string directory, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var standardError = process.StandardError.ReadToEndAsync();
        string standardOutput = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill();
            throw new TimeoutException($"{program} did not finish within 2 minutes");
        }

        return (process.ExitCode, standardOutput + standardError.Result);
    }

    private static int IndexOf(ReadOnlySpan<byte> haystack, ReadOnlySpan<byte> needle) => haystack.IndexOf(needle);

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

using Vessel.Boot.Layout;
using Vessel.Core.Memory;

namespace Vessel.Boot.Acpi;

/// <summary>
/// Writes the machine's ACPI tables into the reserved BIOS area of guest memory: the RSDP at <see cref="BootLayout.AcpiRsdpAddress"/>
/// (0xE0000, inside the range ACPI 6.5 §5.2.5.1 has the OS scan), then XSDT, FADT, FACS, DSDT and MADT above it. The area
/// 0x9FC00-0xFFFFF is reserved in the e820 map, so the OS neither reuses nor loses them; Linux gets the RSDP address from
/// boot_params.acpi_rsdp_addr as well.
/// </summary>
public static class AcpiTables
{
    /// <summary>End (exclusive) of the area the tables may use: the top of the BIOS area below 1 MiB.</summary>
    public const ulong AreaEnd = BootLayout.HighMemoryStart;

    private const ulong TableAlignment = 16;

    /// <summary>Builds every table for <paramref name="platform"/>, writes them, and returns where they went.</summary>
    public static AcpiTablesLayout Write(GuestMemory memory, AcpiPlatform platform)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(platform);
        if (platform.ProcessorCount is < 1 or > 255)
        {
            throw new ArgumentOutOfRangeException(nameof(platform), platform.ProcessorCount, "The MADT's xAPIC entries describe 1 to 255 processors.");
        }

        ulong rsdpAddress = BootLayout.AcpiRsdpAddress;
        ulong next = rsdpAddress + Rsdp.Size;

        ulong Reserve(int size, ulong alignment)
        {
            ulong address = (next + alignment - 1) & ~(alignment - 1);
            next = address + (ulong)size;
            return address;
        }

        byte[] facs = Facs.Build();
        ulong facsAddress = Reserve(facs.Length, Facs.Alignment);
        byte[] dsdt = Dsdt.Build(platform);
        ulong dsdtAddress = Reserve(dsdt.Length, TableAlignment);
        byte[] fadt = Fadt.Build(platform, (uint)facsAddress, (uint)dsdtAddress);
        ulong fadtAddress = Reserve(fadt.Length, TableAlignment);
        byte[] madt = Madt.Build(platform);
        ulong madtAddress = Reserve(madt.Length, TableAlignment);
        byte[]? mcfg = platform.Pci != null ? Mcfg.Build(platform.Pci) : null;
        ulong mcfgAddress = mcfg != null ? Reserve(mcfg.Length, TableAlignment) : 0;
        byte[] xsdt = Xsdt.Build(mcfg != null ? [fadtAddress, madtAddress, mcfgAddress] : [fadtAddress, madtAddress]);
        ulong xsdtAddress = Reserve(xsdt.Length, TableAlignment);
        byte[] rsdp = Rsdp.Build(xsdtAddress);

        if (next > AreaEnd)
        {
            throw new BootImageException(
                $"The ACPI tables for {platform.ProcessorCount} processors need 0x{rsdpAddress:x}-0x{next:x}, past the BIOS area's end at 0x{AreaEnd:x}.");
        }

        GuestRam.Write(memory, rsdpAddress, rsdp, "The ACPI RSDP");
        GuestRam.Write(memory, facsAddress, facs, "The ACPI FACS");
        GuestRam.Write(memory, dsdtAddress, dsdt, "The ACPI DSDT");
        GuestRam.Write(memory, fadtAddress, fadt, "The ACPI FADT");
        GuestRam.Write(memory, madtAddress, madt, "The ACPI MADT");
        GuestRam.Write(memory, xsdtAddress, xsdt, "The ACPI XSDT");
        if (mcfg != null)
        {
            GuestRam.Write(memory, mcfgAddress, mcfg, "The ACPI MCFG");
        }

        return new AcpiTablesLayout(rsdpAddress, xsdtAddress, fadtAddress, facsAddress, dsdtAddress, madtAddress, next) { McfgAddress = mcfg != null ? mcfgAddress : null };
    }
}

/// <summary>Where <see cref="AcpiTables.Write"/> put each table; <see cref="End"/> is the first byte past the last one.</summary>
public sealed record AcpiTablesLayout(ulong RsdpAddress, ulong XsdtAddress, ulong FadtAddress, ulong FacsAddress, ulong DsdtAddress, ulong MadtAddress, ulong End)
{
    /// <summary>Where the MCFG went, when the machine has PCI.</summary>
    public ulong? McfgAddress { get; init; }
}

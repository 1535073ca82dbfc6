using Vessel.Core.Memory;

namespace Vessel.Vmm.Building;

/// <summary>
/// Where the machine puts device windows in guest-physical space. The 32-bit MMIO hole starts at 3 GiB
/// (<see cref="GuestMemory.MmioHoleStart"/>): PCI BARs take its first 512 MiB, ECAM follows, and the top 20 MiB keep the
/// IOAPIC (0xFEC00000), local APICs (0xFEE00000) and pc-testdev's window (0xFF000000). 64-bit BARs go above RAM.
/// </summary>
public static class PlatformLayout
{
    public const ulong PciMmio32Start = GuestMemory.MmioHoleStart;
    public const ulong PciMmio32Size = 0x2000_0000;

    /// <summary>ECAM for bus 0 (1 MiB), reserved in the e820 map as Linux requires of an MCFG window.</summary>
    public const ulong PciEcamStart = 0xE000_0000;

    /// <summary>The 64-bit window starts at the first 1 GiB boundary above RAM (and above 4 GiB) and spans this much.</summary>
    public const ulong PciMmio64Size = 1UL << 36;

    /// <summary>PCI INTx lines use the IOAPIC pins above the ISA IRQs: GSIs 16-23, level-triggered, active low, as on a PC.</summary>
    public const int FirstPciGsi = 16;
    public const int LastPciGsi = 23;

    /// <summary>The 64-bit window's base for a machine with this much memory.</summary>
    public static ulong PciMmio64Start(GuestMemory memory)
    {
        ulong end = Math.Max(GuestMemory.FourGiB, memory.Regions[^1].End.Value);
        const ulong gib = 1UL << 30;
        return (end + gib - 1) & ~(gib - 1);
    }
}

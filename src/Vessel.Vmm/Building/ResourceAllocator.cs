namespace Vessel.Vmm.Building;

/// <summary>
/// Hands out the machine's device resources from one place, so no two devices ever share a window, a GSI or a slot:
/// MMIO windows in the 32-bit PCI hole and above RAM, PCI INTx GSIs, and PCI slots (slot 0 is the host bridge).
/// </summary>
public sealed class ResourceAllocator(ulong mmio64Start, ulong mmio64Size)
{
    private readonly ulong mmio64End = mmio64Start + mmio64Size;
    private ulong nextMmio32 = PlatformLayout.PciMmio32Start;
    private ulong nextMmio64 = mmio64Start;
    private int nextGsi = PlatformLayout.FirstPciGsi;
    private int nextSlot = 1;

    /// <summary>A naturally aligned window below 4 GiB (a BAR must be aligned to its size).</summary>
    public ulong AllocateMmio32(ulong size)
    {
        ulong start = AlignUp(nextMmio32, size);
        if (start + size > PlatformLayout.PciMmio32Start + PlatformLayout.PciMmio32Size)
        {
            throw new InvalidOperationException($"The 32-bit PCI window has no room left for 0x{size:x} bytes.");
        }

        nextMmio32 = start + size;
        return start;
    }

    /// <summary>A naturally aligned window above RAM.</summary>
    public ulong AllocateMmio64(ulong size)
    {
        ulong start = AlignUp(nextMmio64, size);
        if (start + size > mmio64End)
        {
            throw new InvalidOperationException($"The 64-bit PCI window has no room left for 0x{size:x} bytes.");
        }

        nextMmio64 = start + size;
        return start;
    }

    /// <summary>The next INTx GSI; devices share them round-robin once all eight are used, as PCI INTx lines are shareable.</summary>
    public int AllocatePciGsi()
    {
        int gsi = nextGsi;
        nextGsi = nextGsi == PlatformLayout.LastPciGsi ? PlatformLayout.FirstPciGsi : nextGsi + 1;
        return gsi;
    }

    public int AllocatePciSlot()
    {
        if (nextSlot >= Devices.Pci.PciRootComplex.SlotCount)
        {
            throw new Configuration.ConfigurationException(
                $"The machine has {Devices.Pci.PciRootComplex.SlotCount - 1} PCI slots and all are taken: attach fewer devices.");
        }

        return nextSlot++;
    }

    private static ulong AlignUp(ulong value, ulong alignment) => (value + alignment - 1) & ~(alignment - 1);
}

namespace Vessel.Devices.Pci;

/// <summary>Where a PCI function's BAR windows live: the root complex maps them on the machine's MMIO or port bus.</summary>
public interface IPciBarHost
{
    /// <summary>
    /// Maps <paramref name="bar"/> at <paramref name="address"/>, or unmaps it when null. Returns the address now mapped (null when
    /// the place overlaps another device: the window stays unmapped, as a real bus would leave the conflict to the OS).
    /// </summary>
    ulong? PlaceBar(PciFunction function, PciBar bar, ulong? address);
}

using Vessel.Core.Bus;

namespace Vessel.Devices.Pci;

/// <summary>
/// One Base Address Register: its size (a power of two), what it decodes, and the registers behind it. The address is the
/// guest's to choose; the function keeps the window mapped on the bus only while the matching Command decode bit is set.
/// </summary>
public sealed class PciBar(int index, ulong size, PciBarKind kind, IBusDevice registers, bool prefetchable = false)
{
    public int Index { get; } = index;

    public ulong Size { get; } = size;

    public PciBarKind Kind { get; } = kind;

    public bool Prefetchable { get; } = prefetchable;

    public IBusDevice Registers { get; } = registers;

    /// <summary>Where the window is mapped now, or null when it is not (decode off, not yet placed, or the place was taken).</summary>
    public ulong? MappedAddress { get; internal set; }

    /// <summary>The low bits of the BAR register that are fixed by its kind (§6.2.5.1).</summary>
    internal uint TypeBits => Kind switch
    {
        PciBarKind.Io => 0x1,
        PciBarKind.Memory64 => 0x4u | (Prefetchable ? 0x8u : 0),
        _ => Prefetchable ? 0x8u : 0,
    };
}

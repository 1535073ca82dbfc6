namespace Vessel.Devices.Pci;

/// <summary>What a Base Address Register decodes (PCI Local Bus 3.0 §6.2.5.1).</summary>
public enum PciBarKind
{
    /// <summary>I/O space (bit 0 set).</summary>
    Io,

    /// <summary>Memory anywhere in the 32-bit address space (type 00b).</summary>
    Memory32,

    /// <summary>Memory anywhere in 64-bit space (type 10b); the next BAR holds the upper half.</summary>
    Memory64,
}

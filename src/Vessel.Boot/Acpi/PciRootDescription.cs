namespace Vessel.Boot.Acpi;

/// <summary>
/// The PCI host bridge as the DSDT and MCFG describe it: its ECAM window, the address windows it forwards to devices, and
/// the GSI each occupied slot's INTA# is wired to (the _PRT).
/// </summary>
public sealed record PciRootDescription
{
    /// <summary>ECAM base for bus 0 (MCFG's Base Address).</summary>
    public required ulong EcamBase { get; init; }

    /// <summary>The buses behind the bridge: 0 to this.</summary>
    public byte LastBus { get; init; }

    public required ulong Mmio32Start { get; init; }

    public required ulong Mmio32Size { get; init; }

    public required ulong Mmio64Start { get; init; }

    public required ulong Mmio64Size { get; init; }

    /// <summary>(slot, GSI) for every device whose INTA# is wired.</summary>
    public IReadOnlyList<(int Slot, int Gsi)> InterruptRoutes { get; init; } = [];
}

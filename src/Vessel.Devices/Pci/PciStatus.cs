namespace Vessel.Devices.Pci;

/// <summary>The Status register (PCI Local Bus 3.0 §6.2.3).</summary>
[Flags]
public enum PciStatus : ushort
{
    None = 0,

    /// <summary>The function's INTx# is asserted (read-only, whatever Interrupt Disable says).</summary>
    InterruptStatus = 1 << 3,

    /// <summary>The Capabilities Pointer at 0x34 is valid.</summary>
    CapabilitiesList = 1 << 4,
}

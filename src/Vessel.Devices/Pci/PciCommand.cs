namespace Vessel.Devices.Pci;

/// <summary>The Command register (PCI Local Bus 3.0 §6.2.2).</summary>
[Flags]
public enum PciCommand : ushort
{
    None = 0,
    IoSpace = 1 << 0,
    MemorySpace = 1 << 1,
    BusMaster = 1 << 2,
    InterruptDisable = 1 << 10,
}

namespace Vessel.Vmm.Building;

/// <summary>One device in the machine's list, with the resources it was given: what the ACPI tables, logs and the API report.</summary>
/// <param name="Name">What a person calls it ("COM1 (16550A)", "virtio-blk 'rootfs'").</param>
/// <param name="Ports">Its I/O port range, if it has one.</param>
/// <param name="Gsi">The interrupt line it drives, if any.</param>
/// <param name="PciSlot">Its slot on PCI bus 0, for PCI devices.</param>
public sealed record AttachedDevice(string Name, (ushort Start, int Count)? Ports = null, int? Gsi = null, int? PciSlot = null);

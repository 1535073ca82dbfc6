namespace Vessel.Boot.Acpi;

/// <summary>A legacy ISA device the DSDT describes under \_SB so the OS's PNP layer finds it: PNP ID, port ranges, IRQ.</summary>
public sealed record IsaDevice(string Name, string HardwareId, IReadOnlyList<(ushort Port, byte Length)> Ports, int Irq);

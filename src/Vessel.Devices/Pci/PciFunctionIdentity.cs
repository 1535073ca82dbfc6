namespace Vessel.Devices.Pci;

/// <summary>The read-only identity registers of a function's header (PCI Local Bus 3.0 §6.2.1).</summary>
public sealed record PciFunctionIdentity(
    ushort VendorId,
    ushort DeviceId,
    byte BaseClass,
    byte SubClass,
    byte ProgrammingInterface = 0,
    byte RevisionId = 0,
    ushort SubsystemVendorId = 0,
    ushort SubsystemId = 0);

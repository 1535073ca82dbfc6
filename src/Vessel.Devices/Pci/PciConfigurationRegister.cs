namespace Vessel.Devices.Pci;

/// <summary>Offsets in a type 0 configuration header (PCI Local Bus 3.0 §6.1, Figure 6-1).</summary>
public static class PciConfigurationRegister
{
    public const int VendorId = 0x00;
    public const int DeviceId = 0x02;
    public const int Command = 0x04;
    public const int Status = 0x06;
    public const int RevisionId = 0x08;
    public const int ProgrammingInterface = 0x09;
    public const int SubClass = 0x0A;
    public const int BaseClass = 0x0B;
    public const int CacheLineSize = 0x0C;
    public const int LatencyTimer = 0x0D;
    public const int HeaderType = 0x0E;
    public const int BaseAddress0 = 0x10;
    public const int SubsystemVendorId = 0x2C;
    public const int SubsystemId = 0x2E;
    public const int ExpansionRomBase = 0x30;
    public const int CapabilitiesPointer = 0x34;
    public const int InterruptLine = 0x3C;
    public const int InterruptPin = 0x3D;

    /// <summary>The first byte past the header, where capabilities may start.</summary>
    public const int HeaderEnd = 0x40;

    /// <summary>Conventional configuration space (what port 0xCF8/0xCFC reaches).</summary>
    public const int ConventionalSize = 0x100;

    /// <summary>PCI Express extended configuration space (what ECAM reaches).</summary>
    public const int ExtendedSize = 0x1000;

    public const int BaseAddressCount = 6;
}

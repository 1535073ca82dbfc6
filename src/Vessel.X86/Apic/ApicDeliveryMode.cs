namespace Vessel.X86.Apic;

/// <summary>Delivery modes of ICR, LVT, IOAPIC redirection entries and MSI data (Intel SDM 3A §11.6.1).</summary>
public enum ApicDeliveryMode
{
    Fixed = 0,
    LowestPriority = 1,
    SystemManagement = 2,
    NonMaskable = 4,
    Init = 5,
    Startup = 6,
    ExternalInterrupt = 7,
}

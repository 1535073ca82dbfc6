namespace Vessel.X86.Apic;

/// <summary>
/// An interrupt message on the APIC bus: an IPI from an ICR, an IOAPIC redirection, or an MSI.
/// <paramref name="Destination"/> is 8 bits wide unless <paramref name="X2ApicDestination"/> (a 32-bit x2APIC ICR).
/// </summary>
public readonly record struct InterruptMessage(
    int Vector,
    ApicDeliveryMode DeliveryMode,
    bool LogicalDestination,
    uint Destination,
    bool LevelTriggered,
    bool Assert = true,
    ApicDestinationShorthand Shorthand = ApicDestinationShorthand.None,
    bool X2ApicDestination = false);

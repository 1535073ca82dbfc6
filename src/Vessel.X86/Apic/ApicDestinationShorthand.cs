namespace Vessel.X86.Apic;

/// <summary>ICR bits 19:18 (Intel SDM 3A §11.6.1).</summary>
public enum ApicDestinationShorthand
{
    None = 0,
    Self = 1,
    AllIncludingSelf = 2,
    AllExcludingSelf = 3,
}

namespace Vessel.X86.Apic;

/// <summary>ESR bits (Intel SDM 3A §11.5.3).</summary>
[Flags]
public enum ApicErrorStatus : uint
{
    None = 0,
    SendIllegalVector = 1u << 5,
    ReceiveIllegalVector = 1u << 6,
    IllegalRegisterAddress = 1u << 7,
}

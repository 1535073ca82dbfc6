namespace Vessel.X86.Apic;

/// <summary>IA32_APIC_BASE (MSR 0x1B) bits (Intel SDM 3A §11.4.4, §11.12.1).</summary>
[Flags]
public enum ApicBaseBits : ulong
{
    None = 0,

    /// <summary>BSP: this processor is the bootstrap processor (read-only).</summary>
    BootstrapProcessor = 1UL << 8,

    /// <summary>EXTD: x2APIC mode.</summary>
    X2ApicMode = 1UL << 10,

    /// <summary>EN: the APIC is globally enabled.</summary>
    GlobalEnable = 1UL << 11,
}

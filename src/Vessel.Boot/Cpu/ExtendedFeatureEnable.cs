namespace Vessel.Boot.Cpu;

/// <summary>IA32_EFER (MSR 0xC0000080) bits the boot loaders set (Intel SDM 3A §2.2.1).</summary>
[Flags]
public enum ExtendedFeatureEnable : ulong
{
    /// <summary>LME: IA-32e mode enable.</summary>
    LongModeEnable = 1UL << 8,

    /// <summary>LMA: IA-32e mode active (the CPU sets it when paging turns on with LME; a vCPU created in long mode has it already).</summary>
    LongModeActive = 1UL << 10,
}

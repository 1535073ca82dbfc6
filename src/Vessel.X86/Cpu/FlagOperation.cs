namespace Vessel.X86.Cpu;

/// <summary>What produced the lazily kept arithmetic flags; each value decides how CF, OF and AF are recomputed.</summary>
public enum FlagOperation
{
    /// <summary>The flags are materialized in RFLAGS.</summary>
    None = 0,
    Add,
    Adc,
    Sub,
    Sbb,
    Logic,

    /// <summary>INC: CF is preserved, held in <see cref="CpuState.LazySource2"/>'s bit 63 slot via <see cref="Cpu.SaveCarryForIncDec"/>.</summary>
    Inc,
    Dec,

    /// <summary>ZF, SF, PF from the result; CF in LazySource1 bit 0 and OF in LazySource2 bit 0; AF clear.</summary>
    ResultWithCarryOverflow,
}

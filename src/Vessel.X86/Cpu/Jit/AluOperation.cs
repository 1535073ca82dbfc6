namespace Vessel.X86.Cpu.Jit;

/// <summary>The two-operand ALU operations the compiler emits inline.</summary>
internal enum AluOperation
{
    Add,
    Or,
    And,
    Sub,
    Xor,
    Cmp,
    Test,

    /// <summary>ADC and SBB read CF from the record before them.</summary>
    Adc,
    Sbb,
}

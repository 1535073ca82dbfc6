namespace Vessel.X86.Cpu.Jit;

/// <summary>The two-operand ALU operations the compiler emits inline (ADC and SBB, which read CF, go to their handlers).</summary>
internal enum AluOperation
{
    Add,
    Or,
    And,
    Sub,
    Xor,
    Cmp,
    Test,
}

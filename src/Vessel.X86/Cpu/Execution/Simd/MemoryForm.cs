namespace Vessel.X86.Cpu.Execution.Simd;

/// <summary>The r/m operand is in memory.</summary>
public readonly struct MemoryForm : IOperandForm
{
    public static bool IsMemory => true;
}

namespace Vessel.X86.Cpu.Execution.Simd;

/// <summary>Whether a handler instance reads its r/m operand from a register or from memory, fixed at decode time.</summary>
public interface IOperandForm
{
    static abstract bool IsMemory { get; }
}

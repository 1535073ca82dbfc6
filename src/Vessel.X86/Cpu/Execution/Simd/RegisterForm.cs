namespace Vessel.X86.Cpu.Execution.Simd;

/// <summary>The r/m operand is a register.</summary>
public readonly struct RegisterForm : IOperandForm
{
    public static bool IsMemory => false;
}

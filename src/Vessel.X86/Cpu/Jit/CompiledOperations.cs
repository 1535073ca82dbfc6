using System.Runtime.CompilerServices;

namespace Vessel.X86.Cpu.Jit;

/// <summary>
/// The few operations compiled blocks call rather than write inline (BlockEmitter): each is kept out of line, so RyuJIT
/// compiles it once for the process instead of inlining its body into every block that uses it. Each must leave exactly
/// the state its interpreter handler leaves; the differential test (CompilingTierDifferentialTests) compares them.
/// </summary>
internal static unsafe class CompiledOperations
{
    /// <summary>Condition code <paramref name="code"/> from the flags (Cpu.Condition), for flag records the block did not write.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static bool Condition(Cpu cpu, int code) => cpu.Condition(code);

    /// <summary>ROL and ROR's CF and OF over a flag record the compiled code cannot rewrite inline (Cpu.SetCarryAndOverflow).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void SetCarryAndOverflow(Cpu cpu, ulong carry, ulong overflow) => cpu.SetCarryAndOverflow(carry != 0, overflow != 0);

    /// <summary>Shifts and rotates of a register by an immediate (ShiftForms.RegisterForm with ImmediateCount), the count masked at compile time.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ShiftImmediate<TOperation>(Cpu cpu, int destination, int source, int count, int bits)
        where TOperation : Execution.IShiftOperation
    {
        ulong value = cpu.ReadRegister(destination, bits);
        if (count != 0)
        {
            value = TOperation.Execute(cpu, value, cpu.ReadRegister(source, bits), count, bits);
        }

        cpu.WriteRegister(destination, bits, value);
    }
}

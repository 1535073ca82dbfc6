namespace Vessel.X86.Cpu.Jit;

/// <summary>How to translate one recognized handler: the kind, and what the handler's generic arguments fix.</summary>
/// <param name="Kind">The emission.</param>
/// <param name="Operation">For ALU kinds, the operation.</param>
/// <param name="Bits">For RET, the width of the return address.</param>
/// <param name="OperationType">For shifts and rotates, the handler's IShiftOperation type.</param>
internal readonly record struct Translation(TranslationKind Kind, AluOperation Operation = default, int Bits = 0, Type? OperationType = null)
{
    public static Translation Handler => new(TranslationKind.Handler);
}

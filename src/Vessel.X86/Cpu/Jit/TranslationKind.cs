namespace Vessel.X86.Cpu.Jit;

/// <summary>How the compiler emits one decoded instruction: inline, or as a call to its interpreter handler.</summary>
internal enum TranslationKind
{
    /// <summary>A call to the instruction's handler, as the interpreter makes it.</summary>
    Handler,
    MoveRegister,
    MoveImmediate,
    LoadEffectiveAddress,
    Load,
    Store,
    StoreImmediate,
    BinaryRegister,
    BinaryImmediate,
    Increment,
    Decrement,
    JumpRelative,
    JumpConditional,
    CallRelative,
    PushRegister,
    PopRegister,
    Return,
    ShiftImmediate,
    MultiplyImmediate,
}

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

    /// <summary>MOVZX r, r (the source width in <see cref="Translation.Bits"/>).</summary>
    ZeroExtendRegister,
    ZeroExtendMemory,

    /// <summary>MOVSX and MOVSXD r, r (the source width in <see cref="Translation.Bits"/>).</summary>
    SignExtendRegister,
    SignExtendMemory,
    BinaryRegister,
    BinaryImmediate,

    /// <summary>ALU r, m (CMP and TEST included).</summary>
    BinaryLoad,

    /// <summary>ALU m, r: read-modify-write, or a read for CMP and TEST.</summary>
    BinaryMemoryRegister,
    BinaryMemoryImmediate,
    Increment,
    Decrement,
    ConditionalMove,
    SetCondition,
    JumpRelative,
    JumpConditional,
    JumpIndirectRegister,
    CallRelative,
    CallIndirectRegister,
    PushRegister,
    PopRegister,
    Return,
    ShiftImmediate,

    /// <summary>SHL/SAL, SHR and SAR of a register by CL.</summary>
    ShiftCount,

    /// <summary>IMUL r, r.</summary>
    MultiplyRegister,

    /// <summary>IMUL r, r, imm.</summary>
    MultiplyImmediate,

    /// <summary>IMUL r, m.</summary>
    MultiplyLoad,

    /// <summary>IMUL r, m, imm.</summary>
    MultiplyLoadImmediate,
}

namespace Vessel.X86.Cpu;

/// <summary>
/// The hot architectural state, kept in native memory so handlers reach it through one pointer without bounds checks.
/// General registers are indexed as in the ModRM encoding (RAX=0 ... R15=15); slot 16 is RIP (so RIP-relative
/// addressing is an ordinary base register) and slot 17 is always zero (the "no base / no index" register).
/// </summary>
public unsafe struct CpuState
{
    public const int RipIndex = 16;
    public const int ZeroIndex = 17;
    public const int RegisterSlots = 18;

    /// <summary>Segment base slot that always reads zero: 64-bit mode ignores CS/DS/ES/SS bases.</summary>
    public const int ZeroSegmentSlot = 6;

    public fixed ulong Gpr[RegisterSlots];

    /// <summary>RFLAGS except the six arithmetic flags, which live in the lazy fields unless <see cref="LazyOp"/> is None.</summary>
    public ulong Rflags;

    public ulong LazyResult;
    public ulong LazySource1;
    public ulong LazySource2;
    public FlagOperation LazyOp;

    /// <summary>Width in bits of the last flag-setting operation (8, 16, 32, 64).</summary>
    public int LazyBits;

    /// <summary>
    /// Segment bases by <see cref="SegmentRegister"/> index, plus the zero slot. A null DS/ES/FS/GS outside 64-bit mode
    /// has <see cref="SegmentLimits.GeneralProtectionAddress"/> here, so that any access through it faults.
    /// </summary>
    public fixed ulong SegmentBase[8];

    /// <summary>
    /// Non-zero while some usable segment's valid offsets are not all of [0, 4 GiB), or it is read-only: real mode, or
    /// protected mode with a small, expand-down or read-only segment. Only then do data and stack accesses pay for
    /// limit checks (see <see cref="SegmentLimits"/>); flat protected mode and 64-bit mode never do.
    /// </summary>
    public int SegmentChecks;

    /// <summary>Lowest valid offset by segment slot (above the limit for expand-down segments; 1 for an unusable one).</summary>
    public fixed ulong SegmentFirstOffset[8];

    /// <summary>Highest valid offset by segment slot (the limit, or 0xFFFF / 0xFFFFFFFF for expand-down segments).</summary>
    public fixed ulong SegmentLastOffset[8];

    /// <summary>Non-zero by segment slot when writes through it fault: a read-only data segment in protected mode.</summary>
    public fixed byte SegmentReadOnly[8];

    /// <summary>Set by a handler that raised an exception; the run loop delivers it at the end of the block.</summary>
    public int ExceptionPending;

    public int ExceptionVector;
    public uint ExceptionErrorCode;
    public int ExceptionHasErrorCode;

    public ulong Cr2;

    /// <summary>Non-zero when the rest of the current block must not run (a fault, a mode change, self-modifying code).</summary>
    public int StopBlock;

    /// <summary>
    /// Non-zero while an interrupt shadow covers the next instruction: <see cref="ShadowAfterSti"/> or
    /// <see cref="ShadowAfterStackLoad"/> (MOV SS / POP SS, which also holds back debug traps; SDM 3A §6.8.3).
    /// </summary>
    public int InterruptShadow;

    public const int ShadowAfterSti = 1;
    public const int ShadowAfterStackLoad = 2;
}

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Iced.Intel;

namespace Vessel.X86.Cpu.Decoding;

/// <summary>
/// One instruction decoded once and executed many times: its handler is chosen at decode time, and operands are
/// pre-resolved to register slots, a ready-made effective-address recipe and immediates.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct DecodedInstruction
{
    public delegate*<Cpu, DecodedInstruction*, void> Handler;

    /// <summary>Memory displacement; for RIP-relative operands, relative to the next instruction.</summary>
    public long Displacement;

    /// <summary>The immediate (sign-extended as the instruction defines), or a branch target relative to the next instruction.</summary>
    public ulong Immediate;

    /// <summary>Truncates the effective address to the address size (16, 32 or 64 bits).</summary>
    public ulong AddressMask;

    /// <summary>
    /// Truncates the linear address outside 64-bit mode (<see cref="SegmentLimits.LegacyLinearMask"/>: 32 bits, and
    /// the poison of an unusable segment's base).
    /// </summary>
    public ulong LinearMask;

    /// <summary>Offset of the next instruction from the block's first byte.</summary>
    public uint EndOffset;

    public byte Length;

    /// <summary>Register operands in Intel operand order, as slots (0-15 full registers, 16-19 AH/CH/DH/BH).</summary>
    public byte Operand0Register;
    public byte Operand1Register;
    public byte Operand2Register;

    public byte BaseRegister;
    public byte IndexRegister;
    public byte ScaleShift;
    public byte SegmentSlot;

    /// <summary>Width in bits of the operation (the first operand's size, or the memory operand's).</summary>
    public byte OperandBits;

    /// <summary>Condition code for Jcc/SETcc/CMOVcc, or another small per-handler constant.</summary>
    public byte Tag;

    public InstructionPrefixes Prefixes;

    /// <summary>Bytes the instruction moves the stack pointer by (PUSH, POP, CALL, RET), as Iced reports it, made positive.</summary>
    public byte StackBytes;

    /// <summary>The full Iced decoding, for handlers of rarer instructions that need more than the fields above.</summary>
    public Instruction Iced;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly ulong EffectiveAddress(CpuState* state) =>
        (state->Gpr[BaseRegister] + (state->Gpr[IndexRegister] << ScaleShift) + (ulong)Displacement) & AddressMask;

    /// <summary>
    /// The memory operand's linear address; outside flat and 64-bit segmentation, a poisoned address that faults when
    /// the operand lies outside its segment (<see cref="SegmentLimits"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly ulong LinearAddress(CpuState* state)
    {
        ulong offset = EffectiveAddress(state);
        if (state->SegmentChecks != 0)
        {
            return CheckedLinearAddress(state, offset);
        }

        return (offset + state->SegmentBase[SegmentSlot]) & LinearMask;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private readonly ulong CheckedLinearAddress(CpuState* state, ulong offset)
    {
        bool write = state->SegmentReadOnly[SegmentSlot] != 0 && SegmentLimits.WritesMemoryOperand(in Iced);
        return SegmentLimits.CheckedLinearAddress(state, SegmentSlot, offset, Iced.MemorySize.GetSize(), write);
    }
}

using System.Runtime.CompilerServices;
using Iced.Intel;

namespace Vessel.X86.Cpu;

/// <summary>
/// Segment limit checks on data and stack accesses outside 64-bit mode (Intel SDM 3A §5.3, §5.4.1). They run only while
/// <see cref="CpuState.SegmentChecks"/> is set. An access through an explicit memory operand that fails its check gets a
/// poisoned linear address instead of a fault: no legacy-mode address has these high bits and no TLB entry has their
/// page (they are not canonical), so the access takes the slow path, where <see cref="Cpu"/> raises the fault the address
/// names before any architectural state changes, exactly as for a page fault.
/// </summary>
public static unsafe class SegmentLimits
{
    /// <summary>A poisoned address that raises #GP(0) when accessed.</summary>
    public const ulong GeneralProtectionAddress = 0x8000_0000_0000_0000;

    /// <summary>A poisoned address that raises #SS(0) when accessed: the access went through SS (SDM 3A §6.15, interrupt 12).</summary>
    public const ulong StackFaultAddress = 0x8001_0000_0000_0000;

    /// <summary>
    /// The linear mask outside 64-bit mode: addresses wrap at 4 GiB, but bit 63 survives, so the poisoned base of a
    /// null DS/ES/FS/GS (<see cref="GeneralProtectionAddress"/>) poisons every address formed with it, checked or not.
    /// </summary>
    public const ulong LegacyLinearMask = 0xFFFF_FFFFUL | GeneralProtectionAddress;

    /// <summary>True for both poisoned addresses (and for nothing a legacy-mode access can compute).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsPoisoned(ulong linear) => (linear >> 49) == (GeneralProtectionAddress >> 49);

    /// <summary>Whether all of [offset, offset + bytes - 1] lies within the segment in <paramref name="slot"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Contains(CpuState* state, int slot, ulong offset, int bytes) =>
        offset >= state->SegmentFirstOffset[slot] && offset + (ulong)(bytes - 1) <= state->SegmentLastOffset[slot];

    /// <summary>
    /// The linear address of <paramref name="bytes"/> at <paramref name="offset"/> in the segment in
    /// <paramref name="slot"/>, or a poisoned address when they do not all lie within it.
    /// </summary>
    public static ulong CheckedLinearAddress(CpuState* state, int slot, ulong offset, int bytes)
    {
        if (!Contains(state, slot, offset, Math.Max(bytes, 1)))
        {
            return slot == (int)SegmentRegister.SS ? StackFaultAddress : GeneralProtectionAddress;
        }

        return (offset + state->SegmentBase[slot]) & 0xFFFF_FFFF;
    }

    /// <summary>As <see cref="CheckedLinearAddress(CpuState*, int, ulong, int)"/>, also failing a write through a read-only segment.</summary>
    public static ulong CheckedLinearAddress(CpuState* state, int slot, ulong offset, int bytes, bool write) =>
        write && state->SegmentReadOnly[slot] != 0 ? GeneralProtectionAddress : CheckedLinearAddress(state, slot, offset, bytes);

    [ThreadStatic]
    private static InstructionInfoFactory? infoFactory;

    /// <summary>
    /// Whether <paramref name="instruction"/> writes its memory operand. Asked only for accesses through a read-only
    /// segment, so the decoder need not work it out for every instruction.
    /// </summary>
    public static bool WritesMemoryOperand(in Instruction instruction)
    {
        infoFactory ??= new InstructionInfoFactory();
        ref readonly var info = ref infoFactory.GetInfo(instruction, InstructionInfoOptions.NoRegisterUsage);
        for (int i = 0; i < instruction.OpCount; i++)
        {
            if (instruction.GetOpKind(i) == OpKind.Memory
                && info.GetOpAccess(i) is OpAccess.Write or OpAccess.ReadWrite or OpAccess.CondWrite or OpAccess.ReadCondWrite)
            {
                return true;
            }
        }

        return false;
    }
}

using System.Runtime.CompilerServices;
using Vessel.Core.Accel;

namespace Vessel.X86.Cpu;

/// <summary>Stack pushes and pops with the stack width of the current mode (64-bit, or SS.B for 32/16-bit stacks).</summary>
public sealed unsafe partial class Cpu
{
    /// <summary>Width of the stack pointer: 64 in 64-bit code, else 32 or 16 by SS.B.</summary>
    public int StackAddressBits =>
        CodeBits == 64 ? 64 : (segments[(int)SegmentRegister.SS].Attributes & SegmentAttributes.DefaultBig) != 0 ? 32 : 16;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPush(int bits, ulong value)
    {
        var s = State;
        if (CodeBits == 64)
        {
            ulong rsp = s->Gpr[4] - (ulong)(bits >> 3);
            if (!TryWriteSized(rsp, bits, value))
            {
                return StackAccessFailed();
            }

            s->Gpr[4] = rsp;
            return true;
        }

        return TryPushLegacy(bits, value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPop(int bits, out ulong value)
    {
        var s = State;
        if (CodeBits == 64)
        {
            ulong rsp = s->Gpr[4];
            if (!TryReadSized(rsp, bits, out value))
            {
                return StackAccessFailed();
            }

            s->Gpr[4] = rsp + (ulong)(bits >> 3);
            return true;
        }

        return TryPopLegacy(bits, out value);
    }

    /// <summary>Reads the stack slot <paramref name="offset"/> bytes above the stack pointer without popping (RET imm, IRET).</summary>
    public bool TryPeekStack(int bits, ulong offset, out ulong value)
    {
        int stackBits = StackAddressBits;
        ulong mask = stackBits == 64 ? ulong.MaxValue : stackBits == 32 ? 0xFFFF_FFFFUL : 0xFFFFUL;
        ulong address = (State->Gpr[4] + offset) & mask;
        if (OutsideStackSegment(address, bits))
        {
            value = 0;
            return RaiseStackLimitFault();
        }

        ulong linear = CodeBits == 64 ? address : (address + State->SegmentBase[(int)SegmentRegister.SS]) & 0xFFFF_FFFF;
        return TryReadSized(linear, bits, out value);
    }

    /// <summary>Adds to the stack pointer within its width (SS.B decides for 16/32-bit stacks).</summary>
    public void AdjustStackPointer(long delta)
    {
        var s = State;
        int stackBits = StackAddressBits;
        ulong sp = s->Gpr[4];
        s->Gpr[4] = stackBits switch
        {
            64 => sp + (ulong)delta,
            32 => (uint)(sp + (ulong)delta),
            _ => (sp & ~0xFFFFUL) | (ushort)(sp + (ulong)delta),
        };
    }

    private bool TryPushLegacy(int bits, ulong value)
    {
        var s = State;
        bool big = (segments[(int)SegmentRegister.SS].Attributes & SegmentAttributes.DefaultBig) != 0;
        ulong sp = s->Gpr[4];
        ulong newSp = big ? (uint)(sp - (ulong)(bits >> 3)) : (ushort)(sp - (ulong)(bits >> 3));
        if (OutsideStackSegment(newSp, bits))
        {
            return RaiseStackLimitFault();
        }

        ulong linear = (s->SegmentBase[(int)SegmentRegister.SS] + newSp) & 0xFFFF_FFFF;
        if (!TryWriteSized(linear, bits, value))
        {
            return false;
        }

        s->Gpr[4] = big ? newSp : (sp & ~0xFFFFUL) | newSp;
        return true;
    }

    private bool TryPopLegacy(int bits, out ulong value)
    {
        var s = State;
        bool big = (segments[(int)SegmentRegister.SS].Attributes & SegmentAttributes.DefaultBig) != 0;
        ulong sp = s->Gpr[4];
        ulong offset = big ? (uint)sp : (ushort)sp;
        if (OutsideStackSegment(offset, bits))
        {
            value = 0;
            return RaiseStackLimitFault();
        }

        ulong linear = (s->SegmentBase[(int)SegmentRegister.SS] + offset) & 0xFFFF_FFFF;
        if (!TryReadSized(linear, bits, out value))
        {
            return false;
        }

        ulong newSp = offset + (ulong)(bits >> 3);
        s->Gpr[4] = big ? (uint)newSp : (sp & ~0xFFFFUL) | (ushort)newSp;
        return true;
    }

    /// <summary>
    /// Whether <paramref name="bits"/> at <paramref name="offset"/> fall outside SS, for implicit stack accesses, which
    /// compute their addresses themselves (SDM 3A §5.3; SDM 2 PUSH/POP "#SS(0) If ... outside the SS segment limit").
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool OutsideStackSegment(ulong offset, int bits) =>
        State->SegmentChecks != 0 && !SegmentLimits.Contains(State, (int)SegmentRegister.SS, offset, bits >> 3);

    /// <summary>Raises #SS(0) for a stack access outside SS's limit. Always false, for the caller to return.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal bool RaiseStackLimitFault()
    {
        RaiseException(ExceptionVector.StackFault, 0);
        return false;
    }

    /// <summary>
    /// A stack access that failed on a non-canonical address is #SS(0), not #GP(0) (SDM 3A §6.15, interrupt 12); other
    /// faults stand. Always false, for the caller to return.
    /// </summary>
    private bool StackAccessFailed()
    {
        if (nonCanonicalDataAccess)
        {
            ReportNonCanonicalAccessAsStackFault();
        }

        return false;
    }
}

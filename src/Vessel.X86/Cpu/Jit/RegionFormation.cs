using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Jit;

/// <summary>Where a block can go next, as far as its last instruction says before it runs.</summary>
internal static class RegionFormation
{
    /// <summary>Most blocks in one region: enough for a loop with a call or two, small enough for RyuJIT to compile quickly.</summary>
    public const int MaxMembers = 12;

    /// <summary>
    /// Writes into <paramref name="targets"/> the offsets (from the same base as <paramref name="last"/>'s end offset)
    /// where the block ending with <paramref name="last"/> may continue, and returns how many; -1 when only running it
    /// tells (a return, an indirect jump, or an instruction left to its handler, which may be a branch). With
    /// <paramref name="withReturnAddress"/> a call also names its return address, where the callee's RET comes back to.
    /// </summary>
    public static int StaticSuccessors(in DecodedInstruction last, Translation kind, Span<long> targets, bool withReturnAddress)
    {
        long next = last.EndOffset;
        long taken = (long)(last.EndOffset + last.Immediate);
        switch (kind.Kind)
        {
            case TranslationKind.JumpRelative:
                targets[0] = taken;
                return 1;
            case TranslationKind.JumpConditional:
                targets[0] = taken;
                targets[1] = next;
                return 2;
            case TranslationKind.CallRelative:
                targets[0] = taken;
                targets[1] = next;
                return withReturnAddress ? 2 : 1;
            case TranslationKind.Return or TranslationKind.JumpIndirectRegister or TranslationKind.CallIndirectRegister or TranslationKind.Handler:
                return -1;
            default:
                targets[0] = next;
                return 1;
        }
    }
}

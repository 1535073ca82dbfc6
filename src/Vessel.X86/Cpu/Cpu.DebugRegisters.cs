namespace Vessel.X86.Cpu;

/// <summary>
/// DR0-DR7 as storage (Intel SDM 3B §18.2): MOV DR reads back what was written, with DR6/DR7's fixed bits. Breakpoints
/// are not armed by them; a guest that relies on hardware breakpoints firing will not see them.
/// </summary>
public sealed unsafe partial class Cpu
{
    /// <summary>DR6's bits that read as one (SDM 3B §18.2.3).</summary>
    private const ulong DebugStatusFixedOnes = 0xFFFF_0FF0UL;

    /// <summary>DR7 bit 10 reads as one.</summary>
    private const ulong DebugControlFixedOnes = 1UL << 10;

    private readonly ulong[] debugRegisters = [0, 0, 0, 0, 0, 0, DebugStatusFixedOnes, DebugControlFixedOnes];

    /// <summary>DR0-DR3, DR6 or DR7; DR4/DR5 must have been mapped to DR6/DR7 by the caller.</summary>
    public ulong ReadDebugRegister(int index) => debugRegisters[index];

    /// <summary>MOV to DRn: DR6/DR7 bits 63:32 are reserved (#GP(0), false here); fixed bits keep their values.</summary>
    public bool TryWriteDebugRegister(int index, ulong value)
    {
        switch (index)
        {
            case 6:
                if ((value >> 32) != 0)
                {
                    return false;
                }

                debugRegisters[6] = (value & 0x0000_E00FUL) | DebugStatusFixedOnes;
                return true;
            case 7:
                if ((value >> 32) != 0)
                {
                    return false;
                }

                // Bits 11, 12, 14 and 15 read as zero; bit 10 as one.
                debugRegisters[7] = (value & ~0xD800UL) | DebugControlFixedOnes;
                return true;
            default:
                debugRegisters[index] = CodeBits == 64 ? value : (uint)value;
                return true;
        }
    }

    private void ResetDebugRegisters()
    {
        Array.Clear(debugRegisters);
        debugRegisters[6] = DebugStatusFixedOnes;
        debugRegisters[7] = DebugControlFixedOnes;
    }
}

using Iced.Intel;

namespace Vessel.X86.Cpu.Decoding;

/// <summary>Maps Iced's register names to <see cref="CpuState.Gpr"/> slots.</summary>
public static class RegisterSlots
{
    /// <summary>Slots 16-19 stand for AH, CH, DH, BH: bits 8-15 of slots 0-3.</summary>
    public const int HighByteBase = 16;

    public const byte None = CpuState.ZeroIndex;

    /// <summary>
    /// The slot of a general register of any width, RIP/EIP for RIP-relative bases, the number of an XMM, MMX or x87
    /// stack register, or <see cref="None"/>.
    /// </summary>
    public static byte Of(Register register)
    {
        if (register == Register.None)
        {
            return None;
        }

        if (register is Register.RIP or Register.EIP)
        {
            return CpuState.RipIndex;
        }

        if (register >= Register.AL && register <= Register.R15L)
        {
            int index = register - Register.AL;
            return index switch
            {
                < 4 => (byte)index,
                < 8 => (byte)(HighByteBase + index - 4),
                _ => (byte)(index - 4),
            };
        }

        if (register.IsGPR())
        {
            return (byte)(register.GetFullRegister() - Register.RAX);
        }

        // XMM, MMX and x87 stack registers are numbered within their own files (FpuState), not as Gpr slots.
        if (register >= Register.XMM0 && register <= Register.XMM15)
        {
            return (byte)(register - Register.XMM0);
        }

        if (register >= Register.MM0 && register <= Register.MM7)
        {
            return (byte)(register - Register.MM0);
        }

        if (register >= Register.ST0 && register <= Register.ST7)
        {
            return (byte)(register - Register.ST0);
        }

        return None;
    }

    public static int SegmentIndex(Register register) => register switch
    {
        Register.ES => 0,
        Register.CS => 1,
        Register.SS => 2,
        Register.DS => 3,
        Register.FS => 4,
        Register.GS => 5,
        _ => -1,
    };
}

using Iced.Intel;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Execution;

/// <summary>
/// The BCD adjustments AAA, AAS, DAA, DAS, AAM and AAD (Intel SDM 2), valid outside 64-bit mode only. Flags the SDM
/// leaves undefined are given from the result (SF, ZF, PF) or cleared (OF; AF/CF for AAM and AAD), as Bochs does.
/// </summary>
public static unsafe class DecimalArithmetic
{
    private const int AhSlot = RegisterSlots.HighByteBase;

    public static void Register(HandlerTable table)
    {
        table.Add(Code.Aaa, &AsciiAdjustAfterAddition);
        table.Add(Code.Aas, &AsciiAdjustAfterSubtraction);
        table.Add(Code.Daa, &DecimalAdjustAfterAddition);
        table.Add(Code.Das, &DecimalAdjustAfterSubtraction);
        table.Add(Code.Aam_imm8, &AsciiAdjustAfterMultiply);
        table.Add(Code.Aad_imm8, &AsciiAdjustBeforeDivision);
    }

    private static bool InvalidIn64BitMode(Cpu cpu)
    {
        if (cpu.CodeBits == 64)
        {
            cpu.RaiseInvalidOpcode();
            return true;
        }

        return false;
    }

    /// <summary>SF, ZF and PF of a byte result, plus the given AF, CF and OF.</summary>
    private static RflagsBits ByteResultFlags(byte result, bool adjust, bool carry)
    {
        var flags = RflagsBits.None;
        if (result == 0)
        {
            flags |= RflagsBits.Zero;
        }

        if ((result & 0x80) != 0)
        {
            flags |= RflagsBits.Sign;
        }

        if ((System.Numerics.BitOperations.PopCount(result) & 1) == 0)
        {
            flags |= RflagsBits.Parity;
        }

        if (adjust)
        {
            flags |= RflagsBits.Adjust;
        }

        if (carry)
        {
            flags |= RflagsBits.Carry;
        }

        return flags;
    }

    private static void AsciiAdjustAfterAddition(Cpu cpu, DecodedInstruction* instruction)
    {
        if (InvalidIn64BitMode(cpu))
        {
            return;
        }

        ulong ax = cpu.ReadRegister(0, 16);
        bool adjust = (ax & 0xF) > 9 || cpu.AdjustFlag;
        if (adjust)
        {
            ax += 0x106;
        }

        ax = (ax & 0xFF0F) & 0xFFFF;
        cpu.WriteRegister(0, 16, ax);
        cpu.SetArithmeticFlags(ByteResultFlags((byte)ax, adjust, adjust));
    }

    private static void AsciiAdjustAfterSubtraction(Cpu cpu, DecodedInstruction* instruction)
    {
        if (InvalidIn64BitMode(cpu))
        {
            return;
        }

        ulong ax = cpu.ReadRegister(0, 16);
        bool adjust = (ax & 0xF) > 9 || cpu.AdjustFlag;
        if (adjust)
        {
            ax = (ax - 6) & 0xFFFF;
            ax = (ax & 0x00FF) | ((ax - 0x100) & 0xFF00);
        }

        ax &= 0xFF0F;
        cpu.WriteRegister(0, 16, ax);
        cpu.SetArithmeticFlags(ByteResultFlags((byte)ax, adjust, adjust));
    }

    private static void DecimalAdjustAfterAddition(Cpu cpu, DecodedInstruction* instruction)
    {
        if (InvalidIn64BitMode(cpu))
        {
            return;
        }

        uint oldAl = (uint)cpu.ReadRegister(0, 8);
        bool oldCarry = cpu.CarryFlag;
        uint al = oldAl;
        bool carry = false;
        bool adjust = (al & 0xF) > 9 || cpu.AdjustFlag;
        if (adjust)
        {
            carry = oldCarry || al + 6 > 0xFF;
            al = (al + 6) & 0xFF;
        }

        if (oldAl > 0x99 || oldCarry)
        {
            al = (al + 0x60) & 0xFF;
            carry = true;
        }

        cpu.WriteRegister(0, 8, al);
        cpu.SetArithmeticFlags(ByteResultFlags((byte)al, adjust, carry));
    }

    private static void DecimalAdjustAfterSubtraction(Cpu cpu, DecodedInstruction* instruction)
    {
        if (InvalidIn64BitMode(cpu))
        {
            return;
        }

        uint oldAl = (uint)cpu.ReadRegister(0, 8);
        bool oldCarry = cpu.CarryFlag;
        uint al = oldAl;
        bool carry = false;
        bool adjust = (al & 0xF) > 9 || cpu.AdjustFlag;
        if (adjust)
        {
            carry = oldCarry || al < 6;
            al = (al - 6) & 0xFF;
        }

        if (oldAl > 0x99 || oldCarry)
        {
            al = (al - 0x60) & 0xFF;
            carry = true;
        }

        cpu.WriteRegister(0, 8, al);
        cpu.SetArithmeticFlags(ByteResultFlags((byte)al, adjust, carry));
    }

    /// <summary>AAM imm8: AH = AL / imm8, AL = AL mod imm8; a zero base raises #DE.</summary>
    private static void AsciiAdjustAfterMultiply(Cpu cpu, DecodedInstruction* instruction)
    {
        if (InvalidIn64BitMode(cpu))
        {
            return;
        }

        uint divisor = (byte)instruction->Immediate;
        if (divisor == 0)
        {
            cpu.RaiseException(ExceptionVector.DivideError);
            return;
        }

        uint al = (uint)cpu.ReadRegister(0, 8);
        cpu.WriteRegister(AhSlot, 8, al / divisor);
        cpu.WriteRegister(0, 8, al % divisor);
        cpu.SetArithmeticFlags(ByteResultFlags((byte)(al % divisor), false, false));
    }

    /// <summary>AAD imm8: AL = AL + AH * imm8, AH = 0.</summary>
    private static void AsciiAdjustBeforeDivision(Cpu cpu, DecodedInstruction* instruction)
    {
        if (InvalidIn64BitMode(cpu))
        {
            return;
        }

        uint al = (uint)cpu.ReadRegister(0, 8);
        uint ah = (uint)cpu.ReadRegister(AhSlot, 8);
        byte result = (byte)(al + (ah * (byte)instruction->Immediate));
        cpu.WriteRegister(0, 16, result);
        cpu.SetArithmeticFlags(ByteResultFlags(result, false, false));
    }
}

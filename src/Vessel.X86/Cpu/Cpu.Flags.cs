using System.Numerics;
using System.Runtime.CompilerServices;

namespace Vessel.X86.Cpu;

/// <summary>
/// Lazy arithmetic flags: an ALU instruction records its operands, result and operation; a flag is computed only when
/// something reads it (Jcc, SETcc, ADC, PUSHF...). Most flag results are overwritten before anyone looks.
/// </summary>
public sealed unsafe partial class Cpu
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetLazyFlags(FlagOperation operation, int bits, ulong source1, ulong source2, ulong result)
    {
        var s = State;
        s->LazyOp = operation;
        s->LazyBits = bits;
        s->LazySource1 = source1;
        s->LazySource2 = source2;
        s->LazyResult = result;
    }

    /// <summary>Records ZF/SF/PF from <paramref name="result"/> with explicit CF and OF (shifts, multiplies, bit scans).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetResultFlags(int bits, ulong result, bool carry, bool overflow)
    {
        var s = State;
        s->LazyOp = FlagOperation.ResultWithCarryOverflow;
        s->LazyBits = bits;
        s->LazySource1 = carry ? 1UL : 0UL;
        s->LazySource2 = overflow ? 1UL : 0UL;
        s->LazyResult = result;
    }

    /// <summary>INC and DEC leave CF alone: capture it before the lazy state is overwritten.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetIncDecFlags(bool increment, int bits, ulong source, ulong result)
    {
        bool carry = CarryFlag;
        var s = State;
        s->LazyOp = increment ? FlagOperation.Inc : FlagOperation.Dec;
        s->LazyBits = bits;
        s->LazySource1 = source;
        s->LazySource2 = carry ? 1UL : 0UL;
        s->LazyResult = result;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong MaskFor(int bits) => bits == 64 ? ulong.MaxValue : (1UL << bits) - 1;

    public bool CarryFlag
    {
        get
        {
            var s = State;
            ulong mask = MaskFor(s->LazyBits);
            return s->LazyOp switch
            {
                FlagOperation.None => (s->Rflags & (ulong)RflagsBits.Carry) != 0,
                FlagOperation.Add => (s->LazyResult & mask) < (s->LazySource1 & mask),
                FlagOperation.Adc => (s->Rflags & CarryInBit) != 0
                    ? (s->LazyResult & mask) <= (s->LazySource1 & mask)
                    : (s->LazyResult & mask) < (s->LazySource1 & mask),
                FlagOperation.Sub => (s->LazySource1 & mask) < (s->LazySource2 & mask),
                FlagOperation.Sbb => (s->Rflags & CarryInBit) != 0
                    ? (s->LazySource1 & mask) <= (s->LazySource2 & mask)
                    : (s->LazySource1 & mask) < (s->LazySource2 & mask),
                FlagOperation.Logic => false,
                FlagOperation.Inc or FlagOperation.Dec => s->LazySource2 != 0,
                FlagOperation.ResultWithCarryOverflow => s->LazySource1 != 0,
                _ => false,
            };
        }
    }

    public bool ZeroFlag
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            var s = State;
            return s->LazyOp == FlagOperation.None
                ? (s->Rflags & (ulong)RflagsBits.Zero) != 0
                : (s->LazyResult & MaskFor(s->LazyBits)) == 0;
        }
    }

    public bool SignFlag
    {
        get
        {
            var s = State;
            return s->LazyOp == FlagOperation.None
                ? (s->Rflags & (ulong)RflagsBits.Sign) != 0
                : ((s->LazyResult >> (s->LazyBits - 1)) & 1) != 0;
        }
    }

    public bool ParityFlag
    {
        get
        {
            var s = State;
            return s->LazyOp == FlagOperation.None
                ? (s->Rflags & (ulong)RflagsBits.Parity) != 0
                : (BitOperations.PopCount((uint)(s->LazyResult & 0xFF)) & 1) == 0;
        }
    }

    public bool OverflowFlag
    {
        get
        {
            var s = State;
            int signShift = s->LazyBits - 1;
            ulong a = s->LazySource1;
            ulong b = s->LazySource2;
            ulong r = s->LazyResult;
            return s->LazyOp switch
            {
                FlagOperation.None => (s->Rflags & (ulong)RflagsBits.Overflow) != 0,
                FlagOperation.Add or FlagOperation.Adc => (((a ^ r) & (b ^ r)) >> signShift & 1) != 0,
                FlagOperation.Sub or FlagOperation.Sbb => (((a ^ b) & (a ^ r)) >> signShift & 1) != 0,
                FlagOperation.Logic => false,
                FlagOperation.Inc => (r & MaskFor(s->LazyBits)) == 1UL << signShift,
                FlagOperation.Dec => (r & MaskFor(s->LazyBits)) == (1UL << signShift) - 1,
                FlagOperation.ResultWithCarryOverflow => s->LazySource2 != 0,
                _ => false,
            };
        }
    }

    public bool AdjustFlag
    {
        get
        {
            var s = State;
            return s->LazyOp switch
            {
                FlagOperation.None => (s->Rflags & (ulong)RflagsBits.Adjust) != 0,
                FlagOperation.Add or FlagOperation.Adc or FlagOperation.Sub or FlagOperation.Sbb =>
                    ((s->LazySource1 ^ s->LazySource2 ^ s->LazyResult) & 0x10) != 0,
                FlagOperation.Inc => ((s->LazySource1 ^ 1 ^ s->LazyResult) & 0x10) != 0,
                FlagOperation.Dec => ((s->LazySource1 ^ 1 ^ s->LazyResult) & 0x10) != 0,
                _ => false,
            };
        }
    }

    /// <summary>
    /// ADC and SBB need the carry that went in; it is parked in an RFLAGS bit no architectural flag uses (bit 63)
    /// so the lazy record stays five fields.
    /// </summary>
    internal const ulong CarryInBit = 1UL << 63;

    /// <summary>
    /// The RFLAGS bits that exist (SDM 1 §3.4.3): CF, PF, AF, ZF, SF, TF, IF, DF, OF, IOPL, NT, RF, VM, AC, VIF, VIP, ID.
    /// Bits 3, 5, 15 and 22-63 read as zero whatever a POPF or IRET image holds, bit 1 as one.
    /// </summary>
    internal const ulong DefinedFlagBits = 0x3F_7FD5;

    public void SetCarryIn(bool carry)
    {
        var s = State;
        s->Rflags = carry ? s->Rflags | CarryInBit : s->Rflags & ~CarryInBit;
    }

    /// <summary>The full architectural RFLAGS value.</summary>
    public ulong Rflags
    {
        get
        {
            var s = State;
            if (s->LazyOp == FlagOperation.None)
            {
                return (s->Rflags & ~CarryInBit) | (ulong)RflagsBits.Reserved1;
            }

            ulong value = s->Rflags & ~((ulong)RflagsBits.Arithmetic | CarryInBit);
            if (CarryFlag)
            {
                value |= (ulong)RflagsBits.Carry;
            }

            if (ParityFlag)
            {
                value |= (ulong)RflagsBits.Parity;
            }

            if (AdjustFlag)
            {
                value |= (ulong)RflagsBits.Adjust;
            }

            if (ZeroFlag)
            {
                value |= (ulong)RflagsBits.Zero;
            }

            if (SignFlag)
            {
                value |= (ulong)RflagsBits.Sign;
            }

            if (OverflowFlag)
            {
                value |= (ulong)RflagsBits.Overflow;
            }

            return value | (ulong)RflagsBits.Reserved1;
        }

        set
        {
            var s = State;
            s->Rflags = (value & DefinedFlagBits) | (ulong)RflagsBits.Reserved1;
            s->LazyOp = FlagOperation.None;
        }
    }

    /// <summary>Materializes the arithmetic flags into RFLAGS so individual bits can be changed.</summary>
    public void MaterializeFlags() => Rflags = Rflags;

    public void SetFlag(RflagsBits flag, bool value)
    {
        MaterializeFlags();
        var s = State;
        s->Rflags = value ? s->Rflags | (ulong)flag : s->Rflags & ~(ulong)flag;
    }

    /// <summary>Sets all six arithmetic flags at once (POPCNT, BCD adjustments): <paramref name="flags"/> holds the ones that are set.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetArithmeticFlags(RflagsBits flags)
    {
        var s = State;
        s->Rflags = (s->Rflags & ~(ulong)RflagsBits.Arithmetic) | ((ulong)flags & (ulong)RflagsBits.Arithmetic);
        s->LazyOp = FlagOperation.None;
    }

    /// <summary>Changes CF and OF only, keeping SF, ZF, AF and PF (the rotates, SDM 2 RCL/RCR/ROL/ROR).</summary>
    public void SetCarryAndOverflow(bool carry, bool overflow)
    {
        MaterializeFlags();
        var s = State;
        ulong value = s->Rflags & ~(ulong)(RflagsBits.Carry | RflagsBits.Overflow);
        if (carry)
        {
            value |= (ulong)RflagsBits.Carry;
        }

        if (overflow)
        {
            value |= (ulong)RflagsBits.Overflow;
        }

        s->Rflags = value;
    }

    /// <summary>Evaluates a condition code (the low nibble of Jcc/SETcc/CMOVcc opcodes, Intel SDM 1 Appendix B).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Condition(int code)
    {
        var s = State;
        if (s->LazyOp == FlagOperation.Sub && code >= 2)
        {
            // Fast path for CMP/SUB followed by a branch: compare the operands directly.
            int bits = s->LazyBits;
            ulong mask = MaskFor(bits);
            ulong a = s->LazySource1 & mask;
            ulong b = s->LazySource2 & mask;
            int shift = 64 - bits;
            long sa = (long)(a << shift);
            long sb = (long)(b << shift);
            switch (code)
            {
                case 2: return a < b;
                case 3: return a >= b;
                case 4: return a == b;
                case 5: return a != b;
                case 6: return a <= b;
                case 7: return a > b;
                case 0xC: return sa < sb;
                case 0xD: return sa >= sb;
                case 0xE: return sa <= sb;
                case 0xF: return sa > sb;
            }
        }

        if (code == 4)
        {
            return ZeroFlag;
        }

        if (code == 5)
        {
            return !ZeroFlag;
        }

        bool result = (code >> 1) switch
        {
            0 => OverflowFlag,
            1 => CarryFlag,
            2 => ZeroFlag,
            3 => CarryFlag || ZeroFlag,
            4 => SignFlag,
            5 => ParityFlag,
            6 => SignFlag != OverflowFlag,
            _ => ZeroFlag || SignFlag != OverflowFlag,
        };
        return (code & 1) != 0 ? !result : result;
    }
}

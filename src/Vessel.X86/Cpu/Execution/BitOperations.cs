using System.Runtime.CompilerServices;
using Vessel.X86.Cpu.Decoding;
using HostBits = System.Numerics.BitOperations;

namespace Vessel.X86.Cpu.Execution;

/// <summary>
/// BT, BTS, BTR, BTC, BSF, BSR, TZCNT, LZCNT, POPCNT and BSWAP (Intel SDM 2). Instructions behind CPUID bits
/// follow the template: without BMI1, F3 0F BC is BSF; without ABM, F3 0F BD is BSR; without POPCNT, #UD.
/// </summary>
public static unsafe class BitOperations
{
    private const uint Bmi1 = 1u << 3;
    private const uint AdvancedBitManipulation = 1u << 5;

    public static void Register(HandlerTable table)
    {
        RegisterBitTest<TestBit>(table, "Bt");
        RegisterBitTest<SetBit>(table, "Bts");
        RegisterBitTest<ResetBit>(table, "Btr");
        RegisterBitTest<ComplementBit>(table, "Btc");
        foreach (var (code, _) in CodeFamily.Of("Bsf"))
        {
            table.Add(code, &ScanRegister<ForwardScan>, &ScanMemory<ForwardScan>);
        }

        foreach (var (code, _) in CodeFamily.Of("Bsr"))
        {
            table.Add(code, &ScanRegister<ReverseScan>, &ScanMemory<ReverseScan>);
        }

        foreach (var (code, _) in CodeFamily.Of("Tzcnt"))
        {
            table.Add(code, &ScanRegister<TrailingZeros>, &ScanMemory<TrailingZeros>);
        }

        foreach (var (code, _) in CodeFamily.Of("Lzcnt"))
        {
            table.Add(code, &ScanRegister<LeadingZeros>, &ScanMemory<LeadingZeros>);
        }

        foreach (var (code, _) in CodeFamily.Of("Popcnt"))
        {
            table.Add(code, &ScanRegister<PopulationCount>, &ScanMemory<PopulationCount>);
        }

        foreach (var (code, _) in CodeFamily.Of("Bswap"))
        {
            table.Add(code, &ByteSwap);
        }
    }

    private static void RegisterBitTest<TOperation>(HandlerTable table, string mnemonic)
        where TOperation : IBitTestOperation
    {
        foreach (var (code, operands) in CodeFamily.Of(mnemonic))
        {
            if (operands.EndsWith("imm8", StringComparison.Ordinal))
            {
                table.Add(code, &BitTestRegister<TOperation, ImmediateOffset>, &BitTestMemoryImmediate<TOperation>);
            }
            else
            {
                table.Add(code, &BitTestRegister<TOperation, RegisterOffset>, &BitTestMemoryRegister<TOperation>);
            }
        }
    }

    private interface IBitOffset
    {
        static abstract ulong Read(Cpu cpu, DecodedInstruction* instruction, int bits);
    }

    private struct ImmediateOffset : IBitOffset
    {
        public static ulong Read(Cpu cpu, DecodedInstruction* instruction, int bits) => instruction->Immediate;
    }

    private struct RegisterOffset : IBitOffset
    {
        public static ulong Read(Cpu cpu, DecodedInstruction* instruction, int bits) => cpu.ReadRegister(instruction->Operand1Register, bits);
    }

    /// <summary>Changes (or not) one bit; BT leaves the operand alone and is never written.</summary>
    private interface IBitTestOperation
    {
        static abstract bool Writes { get; }

        static abstract ulong Apply(ulong value, ulong bit);
    }

    private struct TestBit : IBitTestOperation
    {
        public static bool Writes => false;

        public static ulong Apply(ulong value, ulong bit) => value;
    }

    private struct SetBit : IBitTestOperation
    {
        public static bool Writes => true;

        public static ulong Apply(ulong value, ulong bit) => value | bit;
    }

    private struct ResetBit : IBitTestOperation
    {
        public static bool Writes => true;

        public static ulong Apply(ulong value, ulong bit) => value & ~bit;
    }

    private struct ComplementBit : IBitTestOperation
    {
        public static bool Writes => true;

        public static ulong Apply(ulong value, ulong bit) => value ^ bit;
    }

    /// <summary>CF receives the selected bit; ZF is unaffected and OF, SF, AF, PF are undefined (we keep them).</summary>
    private static void BitTestRegister<TOperation, TOffset>(Cpu cpu, DecodedInstruction* instruction)
        where TOperation : IBitTestOperation
        where TOffset : IBitOffset
    {
        int bits = instruction->OperandBits;
        ulong bit = 1UL << (int)(TOffset.Read(cpu, instruction, bits) & (ulong)(bits - 1));
        ulong value = cpu.ReadRegister(instruction->Operand0Register, bits);
        cpu.SetFlag(RflagsBits.Carry, (value & bit) != 0);
        if (TOperation.Writes)
        {
            cpu.WriteRegister(instruction->Operand0Register, bits, TOperation.Apply(value, bit));
        }
    }

    private static void BitTestMemoryImmediate<TOperation>(Cpu cpu, DecodedInstruction* instruction)
        where TOperation : IBitTestOperation
    {
        int bits = instruction->OperandBits;
        int offset = (int)(instruction->Immediate & (ulong)(bits - 1));
        BitTestMemory<TOperation>(cpu, instruction, instruction->LinearAddress(cpu.State), offset, bits);
    }

    /// <summary>
    /// With a register offset the operand is a bit string: the signed offset selects the operand-sized word
    /// ea + operandBytes * (offset SAR log2(bits)) and the bit within it (SDM 2 BT, "bit base and bit offset").
    /// </summary>
    private static void BitTestMemoryRegister<TOperation>(Cpu cpu, DecodedInstruction* instruction)
        where TOperation : IBitTestOperation
    {
        int bits = instruction->OperandBits;
        long offset = (long)WidthMath.SignExtend(cpu.ReadRegister(instruction->Operand1Register, bits), bits);
        int shift = HostBits.Log2((uint)bits);
        long displacement = (offset >> shift) * (bits >> 3);
        var s = cpu.State;
        ulong effective = (instruction->EffectiveAddress(s) + (ulong)displacement) & instruction->AddressMask;
        ulong linear = s->SegmentChecks != 0
            ? SegmentLimits.CheckedLinearAddress(s, instruction->SegmentSlot, effective, bits >> 3, TOperation.Writes)
            : (effective + s->SegmentBase[instruction->SegmentSlot]) & instruction->LinearMask;
        BitTestMemory<TOperation>(cpu, instruction, linear, (int)(offset & (bits - 1)), bits);
    }

    /// <summary>The RMW forms change just the selected byte, atomically under LOCK (SDM 3A §8.1.2.2).</summary>
    private static void BitTestMemory<TOperation>(Cpu cpu, DecodedInstruction* instruction, ulong linear, int offset, int bits)
        where TOperation : IBitTestOperation
    {
        if (!TOperation.Writes)
        {
            if (cpu.TryReadSized(linear, bits, out ulong tested))
            {
                cpu.SetFlag(RflagsBits.Carry, ((tested >> offset) & 1) != 0);
            }

            return;
        }

        byte* pointer = cpu.TryGetWritablePointer(linear, bits >> 3, out bool faulted);
        if (faulted)
        {
            return;
        }

        if (pointer == null)
        {
            if (cpu.TryReadSized(linear, bits, out ulong slowValue))
            {
                ulong slowBit = 1UL << offset;
                if (cpu.TryWriteSized(linear, bits, TOperation.Apply(slowValue, slowBit)))
                {
                    cpu.SetFlag(RflagsBits.Carry, (slowValue & slowBit) != 0);
                }
            }

            return;
        }

        // Safety: the pointer covers the whole operand, and the selected byte lies inside it.
        byte* target = pointer + (offset >> 3);
        byte mask = (byte)(1 << (offset & 7));
        byte old;
        if ((instruction->Prefixes & InstructionPrefixes.Lock) != 0)
        {
            byte updated;
            do
            {
                old = Volatile.Read(ref *target);
                updated = (byte)TOperation.Apply(old, mask);
            }
            while (Interlocked.CompareExchange(ref *target, updated, old) != old);
        }
        else
        {
            old = *target;
            *target = (byte)TOperation.Apply(old, mask);
        }

        cpu.SetFlag(RflagsBits.Carry, (old & mask) != 0);
    }

    /// <summary>A count or scan of a source operand into a register; returns false to leave the destination unchanged.</summary>
    private interface IScanOperation
    {
        static abstract bool Execute(Cpu cpu, ulong source, int bits, out ulong result);
    }

    private static void ScanRegister<TOperation>(Cpu cpu, DecodedInstruction* instruction)
        where TOperation : IScanOperation
    {
        int bits = instruction->OperandBits;
        if (TOperation.Execute(cpu, cpu.ReadRegister(instruction->Operand1Register, bits), bits, out ulong result))
        {
            cpu.WriteRegister(instruction->Operand0Register, bits, result);
        }
    }

    private static void ScanMemory<TOperation>(Cpu cpu, DecodedInstruction* instruction)
        where TOperation : IScanOperation
    {
        int bits = instruction->OperandBits;
        if (cpu.TryReadSized(instruction->LinearAddress(cpu.State), bits, out ulong source)
            && TOperation.Execute(cpu, source, bits, out ulong result))
        {
            cpu.WriteRegister(instruction->Operand0Register, bits, result);
        }
    }

    /// <summary>
    /// BSF: ZF = source is zero, and then the destination is left unchanged, as Intel and AMD parts do (the SDM
    /// calls it undefined). CF, OF, SF, AF and PF are undefined.
    /// </summary>
    private struct ForwardScan : IScanOperation
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool Execute(Cpu cpu, ulong source, int bits, out ulong result)
        {
            cpu.SetResultFlags(bits, source, false, false);
            result = (ulong)HostBits.TrailingZeroCount(source);
            return source != 0;
        }
    }

    private struct ReverseScan : IScanOperation
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool Execute(Cpu cpu, ulong source, int bits, out ulong result)
        {
            cpu.SetResultFlags(bits, source, false, false);
            result = (ulong)(63 - HostBits.LeadingZeroCount(source));
            return source != 0;
        }
    }

    /// <summary>TZCNT (BMI1): CF = source is zero, ZF = result is zero. Without BMI1 the encoding is REP BSF, i.e. BSF.</summary>
    private struct TrailingZeros : IScanOperation
    {
        public static bool Execute(Cpu cpu, ulong source, int bits, out ulong result)
        {
            if ((cpu.Cpuid.Leaf7Ebx & Bmi1) == 0)
            {
                return ForwardScan.Execute(cpu, source, bits, out result);
            }

            result = source == 0 ? (ulong)bits : (ulong)HostBits.TrailingZeroCount(source);
            cpu.SetResultFlags(bits, result, source == 0, false);
            return true;
        }
    }

    /// <summary>LZCNT (ABM): CF = source is zero, ZF = result is zero. Without ABM the encoding is REP BSR, i.e. BSR.</summary>
    private struct LeadingZeros : IScanOperation
    {
        public static bool Execute(Cpu cpu, ulong source, int bits, out ulong result)
        {
            if ((cpu.Cpuid.ExtendedLeaf1Ecx & AdvancedBitManipulation) == 0)
            {
                return ReverseScan.Execute(cpu, source, bits, out result);
            }

            result = (ulong)(HostBits.LeadingZeroCount(source) - (64 - bits));
            cpu.SetResultFlags(bits, result, source == 0, false);
            return true;
        }
    }

    /// <summary>POPCNT: ZF = source is zero, every other arithmetic flag cleared.</summary>
    private struct PopulationCount : IScanOperation
    {
        public static bool Execute(Cpu cpu, ulong source, int bits, out ulong result)
        {
            if ((cpu.Cpuid.Leaf1Ecx & (uint)CpuidFeatures1Ecx.Popcnt) == 0)
            {
                cpu.RaiseInvalidOpcode();
                result = 0;
                return false;
            }

            result = (ulong)HostBits.PopCount(source);
            cpu.SetArithmeticFlags(source == 0 ? RflagsBits.Zero : RflagsBits.None);
            return true;
        }
    }

    /// <summary>BSWAP; the 16-bit form is undefined, and Intel parts clear the low word, as we do.</summary>
    private static void ByteSwap(Cpu cpu, DecodedInstruction* instruction)
    {
        int bits = instruction->OperandBits;
        ulong value = cpu.ReadRegister(instruction->Operand0Register, bits);
        ulong result = bits switch
        {
            64 => System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(value),
            32 => System.Buffers.Binary.BinaryPrimitives.ReverseEndianness((uint)value),
            _ => 0,
        };
        cpu.WriteRegister(instruction->Operand0Register, bits, result);
    }
}

using System.Runtime.CompilerServices;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Execution;

/// <summary>ADD, OR, ADC, SBB, AND, SUB, XOR, CMP, TEST, INC, DEC, NEG, NOT in every form, with LOCK atomic on guest RAM.</summary>
public static unsafe class Arithmetic
{
    public static void Register(HandlerTable table)
    {
        RegisterBinary<AddOperation>(table, "Add");
        RegisterBinary<OrOperation>(table, "Or");
        RegisterBinary<AdcOperation>(table, "Adc");
        RegisterBinary<SbbOperation>(table, "Sbb");
        RegisterBinary<AndOperation>(table, "And");
        RegisterBinary<SubOperation>(table, "Sub");
        RegisterBinary<XorOperation>(table, "Xor");
        RegisterBinary<CmpOperation>(table, "Cmp");
        RegisterBinary<TestOperation>(table, "Test");
        foreach (var (code, _) in CodeFamily.Of("Inc"))
        {
            table.Add(code, &IncrementRegister, &IncrementMemory);
        }

        foreach (var (code, _) in CodeFamily.Of("Dec"))
        {
            table.Add(code, &DecrementRegister, &DecrementMemory);
        }

        foreach (var (code, _) in CodeFamily.Of("Neg"))
        {
            table.Add(code, &NegateRegister, &NegateMemory);
        }

        foreach (var (code, _) in CodeFamily.Of("Not"))
        {
            table.Add(code, &NotRegister, &NotMemory);
        }
    }

    private static void RegisterBinary<TOperation>(HandlerTable table, string mnemonic)
        where TOperation : IBinaryOperation
    {
        foreach (var (code, operands) in CodeFamily.Of(mnemonic))
        {
            if (operands.Contains("imm", StringComparison.Ordinal))
            {
                table.Add(code, &RegisterImmediate<TOperation>, &MemoryImmediate<TOperation>);
            }
            else if (operands.StartsWith("rm", StringComparison.Ordinal))
            {
                table.Add(code, &RegisterRegister<TOperation>, &MemoryRegister<TOperation>);
            }
            else if (operands.StartsWith('r'))
            {
                table.Add(code, &RegisterRegister<TOperation>, &RegisterMemory<TOperation>);
            }
        }
    }

    public static void RegisterRegister<TOperation>(Cpu cpu, DecodedInstruction* instruction)
        where TOperation : IBinaryOperation
    {
        int bits = instruction->OperandBits;
        ulong destination = cpu.ReadRegister(instruction->Operand0Register, bits);
        ulong source = cpu.ReadRegister(instruction->Operand1Register, bits);
        ulong result = TOperation.Execute(cpu, destination, source, bits);
        if (TOperation.WritesResult)
        {
            cpu.WriteRegister(instruction->Operand0Register, bits, result);
        }
    }

    public static void RegisterImmediate<TOperation>(Cpu cpu, DecodedInstruction* instruction)
        where TOperation : IBinaryOperation
    {
        int bits = instruction->OperandBits;
        ulong destination = cpu.ReadRegister(instruction->Operand0Register, bits);
        ulong result = TOperation.Execute(cpu, destination, instruction->Immediate, bits);
        if (TOperation.WritesResult)
        {
            cpu.WriteRegister(instruction->Operand0Register, bits, result);
        }
    }

    public static void RegisterMemory<TOperation>(Cpu cpu, DecodedInstruction* instruction)
        where TOperation : IBinaryOperation
    {
        int bits = instruction->OperandBits;
        if (!cpu.TryReadSized(instruction->LinearAddress(cpu.State), bits, out ulong source))
        {
            return;
        }

        ulong destination = cpu.ReadRegister(instruction->Operand0Register, bits);
        ulong result = TOperation.Execute(cpu, destination, source, bits);
        if (TOperation.WritesResult)
        {
            cpu.WriteRegister(instruction->Operand0Register, bits, result);
        }
    }

    public static void MemoryRegister<TOperation>(Cpu cpu, DecodedInstruction* instruction)
        where TOperation : IBinaryOperation
    {
        int bits = instruction->OperandBits;
        ReadModifyWrite<TOperation>(cpu, instruction, cpu.ReadRegister(instruction->Operand1Register, bits), bits);
    }

    public static void MemoryImmediate<TOperation>(Cpu cpu, DecodedInstruction* instruction)
        where TOperation : IBinaryOperation =>
        ReadModifyWrite<TOperation>(cpu, instruction, instruction->Immediate, instruction->OperandBits);

    /// <summary>The memory-destination form: one translation for read and write, atomic under LOCK (SDM 3A §8.1.2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ReadModifyWrite<TOperation>(Cpu cpu, DecodedInstruction* instruction, ulong source, int bits)
        where TOperation : IBinaryOperation
    {
        ulong linear = instruction->LinearAddress(cpu.State);
        if (!TOperation.WritesResult)
        {
            if (cpu.TryReadSized(linear, bits, out ulong value))
            {
                TOperation.Execute(cpu, value, source, bits);
            }

            return;
        }

        byte* pointer = cpu.TryGetWritablePointer(linear, bits >> 3, out bool faulted);
        if (pointer == null)
        {
            if (!faulted && cpu.TryReadSized(linear, bits, out ulong slowValue))
            {
                cpu.TryWriteSized(linear, bits, TOperation.Execute(cpu, slowValue, source, bits));
            }

            return;
        }

        if ((instruction->Prefixes & InstructionPrefixes.Lock) != 0)
        {
            AtomicUpdate<TOperation>(cpu, pointer, source, bits);
            return;
        }

        // Safety: TryGetWritablePointer checked the whole operand lies in one writable RAM page.
        switch (bits)
        {
            case 8: *pointer = (byte)TOperation.Execute(cpu, *pointer, source, 8); break;
            case 16: Unsafe.WriteUnaligned(pointer, (ushort)TOperation.Execute(cpu, Unsafe.ReadUnaligned<ushort>(pointer), source, 16)); break;
            case 32: Unsafe.WriteUnaligned(pointer, (uint)TOperation.Execute(cpu, Unsafe.ReadUnaligned<uint>(pointer), source, 32)); break;
            default: Unsafe.WriteUnaligned(pointer, TOperation.Execute(cpu, Unsafe.ReadUnaligned<ulong>(pointer), source, 64)); break;
        }
    }

    /// <summary>A compare-and-swap loop: other vCPUs see the old or the new value, never a torn one.</summary>
    public static void AtomicUpdate<TOperation>(Cpu cpu, byte* pointer, ulong source, int bits)
        where TOperation : IBinaryOperation
    {
        // Safety: the caller obtained pointer from TryGetWritablePointer for an access of bits/8 bytes.
        switch (bits)
        {
            case 8:
                {
                    byte old;
                    byte updated;
                    do
                    {
                        old = Volatile.Read(ref *pointer);
                        updated = (byte)TOperation.Execute(cpu, old, source, 8);
                    }
                    while (Interlocked.CompareExchange(ref *pointer, updated, old) != old);
                    break;
                }

            case 16:
                {
                    ref ushort target = ref Unsafe.AsRef<ushort>(pointer);
                    ushort old;
                    ushort updated;
                    do
                    {
                        old = Volatile.Read(ref target);
                        updated = (ushort)TOperation.Execute(cpu, old, source, 16);
                    }
                    while (Interlocked.CompareExchange(ref target, updated, old) != old);
                    break;
                }

            case 32:
                {
                    ref uint target = ref Unsafe.AsRef<uint>(pointer);
                    uint old;
                    uint updated;
                    do
                    {
                        old = Volatile.Read(ref target);
                        updated = (uint)TOperation.Execute(cpu, old, source, 32);
                    }
                    while (Interlocked.CompareExchange(ref target, updated, old) != old);
                    break;
                }

            default:
                {
                    ref ulong target = ref Unsafe.AsRef<ulong>(pointer);
                    ulong old;
                    ulong updated;
                    do
                    {
                        old = Volatile.Read(ref target);
                        updated = TOperation.Execute(cpu, old, source, 64);
                    }
                    while (Interlocked.CompareExchange(ref target, updated, old) != old);
                    break;
                }
        }
    }

    private struct IncrementOperation : IBinaryOperation
    {
        public static bool WritesResult => true;

        public static ulong Execute(Cpu cpu, ulong destination, ulong source, int bits)
        {
            ulong result = destination + 1;
            cpu.SetIncDecFlags(true, bits, destination, result);
            return result;
        }
    }

    private struct DecrementOperation : IBinaryOperation
    {
        public static bool WritesResult => true;

        public static ulong Execute(Cpu cpu, ulong destination, ulong source, int bits)
        {
            ulong result = destination - 1;
            cpu.SetIncDecFlags(false, bits, destination, result);
            return result;
        }
    }

    private struct NegateOperation : IBinaryOperation
    {
        public static bool WritesResult => true;

        public static ulong Execute(Cpu cpu, ulong destination, ulong source, int bits)
        {
            ulong result = 0UL - destination;
            cpu.SetLazyFlags(FlagOperation.Sub, bits, 0, destination, result);
            return result;
        }
    }

    private struct NotOperation : IBinaryOperation
    {
        public static bool WritesResult => true;

        public static ulong Execute(Cpu cpu, ulong destination, ulong source, int bits) => ~destination;
    }

    private static void Unary<TOperation>(Cpu cpu, DecodedInstruction* instruction)
        where TOperation : IBinaryOperation
    {
        int bits = instruction->OperandBits;
        ulong value = cpu.ReadRegister(instruction->Operand0Register, bits);
        cpu.WriteRegister(instruction->Operand0Register, bits, TOperation.Execute(cpu, value, 0, bits));
    }

    internal static void IncrementRegister(Cpu cpu, DecodedInstruction* instruction) => Unary<IncrementOperation>(cpu, instruction);

    private static void IncrementMemory(Cpu cpu, DecodedInstruction* instruction) =>
        ReadModifyWrite<IncrementOperation>(cpu, instruction, 0, instruction->OperandBits);

    internal static void DecrementRegister(Cpu cpu, DecodedInstruction* instruction) => Unary<DecrementOperation>(cpu, instruction);

    private static void DecrementMemory(Cpu cpu, DecodedInstruction* instruction) =>
        ReadModifyWrite<DecrementOperation>(cpu, instruction, 0, instruction->OperandBits);

    private static void NegateRegister(Cpu cpu, DecodedInstruction* instruction) => Unary<NegateOperation>(cpu, instruction);

    private static void NegateMemory(Cpu cpu, DecodedInstruction* instruction) =>
        ReadModifyWrite<NegateOperation>(cpu, instruction, 0, instruction->OperandBits);

    private static void NotRegister(Cpu cpu, DecodedInstruction* instruction) => Unary<NotOperation>(cpu, instruction);

    private static void NotMemory(Cpu cpu, DecodedInstruction* instruction) =>
        ReadModifyWrite<NotOperation>(cpu, instruction, 0, instruction->OperandBits);
}

using System.Runtime.CompilerServices;
using Iced.Intel;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Execution;

/// <summary>
/// CMPXCHG, CMPXCHG8B, CMPXCHG16B and XADD (Intel SDM 2). On guest RAM the memory forms are atomic whether or not
/// LOCK is given (other vCPUs never see a torn or lost update); through MMIO they are plain read-then-write.
/// </summary>
public static unsafe class Exchange
{
    /// <summary>
    /// .NET has no 128-bit compare-and-swap, so CMPXCHG16B serializes on a lock chosen by the host address. It is
    /// atomic against other CMPXCHG16Bs on the same 16 bytes (Linux's cmpxchg_double users), not against a
    /// concurrent 8-byte locked access to one half.
    /// </summary>
    private static readonly object[] DoubleQuadwordLocks = CreateLocks(64);

    public static void Register(HandlerTable table)
    {
        table.Add(Code.Cmpxchg_rm8_r8, &CompareExchangeRegister, &CompareExchangeMemory);
        table.Add(Code.Cmpxchg_rm16_r16, &CompareExchangeRegister, &CompareExchangeMemory);
        table.Add(Code.Cmpxchg_rm32_r32, &CompareExchangeRegister, &CompareExchangeMemory);
        table.Add(Code.Cmpxchg_rm64_r64, &CompareExchangeRegister, &CompareExchangeMemory);
        table.Add(Code.Cmpxchg8b_m64, &InvalidRegisterForm, &CompareExchange8Bytes);
        table.Add(Code.Cmpxchg16b_m128, &InvalidRegisterForm, &CompareExchange16Bytes);
        foreach (var (code, _) in CodeFamily.Of("Xadd"))
        {
            table.Add(code, &ExchangeAddRegister, &ExchangeAddMemory);
        }
    }

    private static object[] CreateLocks(int count)
    {
        var locks = new object[count];
        for (int i = 0; i < count; i++)
        {
            locks[i] = new object();
        }

        return locks;
    }

    private static void InvalidRegisterForm(Cpu cpu, DecodedInstruction* instruction) => cpu.RaiseInvalidOpcode();

    /// <summary>
    /// Flags as CMP accumulator, destination. Equal: the destination gets the source; else the accumulator gets the
    /// destination and the destination register is left alone.
    /// </summary>
    private static void CompareExchangeRegister(Cpu cpu, DecodedInstruction* instruction)
    {
        int bits = instruction->OperandBits;
        ulong accumulator = cpu.ReadRegister(0, bits);
        ulong destination = cpu.ReadRegister(instruction->Operand0Register, bits);
        cpu.SetLazyFlags(FlagOperation.Sub, bits, accumulator, destination, accumulator - destination);
        if (accumulator == destination)
        {
            cpu.WriteRegister(instruction->Operand0Register, bits, cpu.ReadRegister(instruction->Operand1Register, bits));
        }
        else
        {
            cpu.WriteRegister(0, bits, destination);
        }
    }

    private static void CompareExchangeMemory(Cpu cpu, DecodedInstruction* instruction)
    {
        int bits = instruction->OperandBits;
        ulong linear = instruction->LinearAddress(cpu.State);
        ulong accumulator = cpu.ReadRegister(0, bits);
        ulong replacement = cpu.ReadRegister(instruction->Operand1Register, bits);
        byte* pointer = cpu.TryGetWritablePointer(linear, bits >> 3, out bool faulted);
        if (faulted)
        {
            return;
        }

        ulong previous;
        if (pointer == null)
        {
            // The destination is always written, with its old value when the comparison fails (SDM 2 CMPXCHG).
            if (!cpu.TryReadSized(linear, bits, out previous)
                || !cpu.TryWriteSized(linear, bits, previous == accumulator ? replacement : previous))
            {
                return;
            }
        }
        else
        {
            // Safety: TryGetWritablePointer checked the whole operand lies in one writable RAM page.
            previous = bits switch
            {
                8 => Interlocked.CompareExchange(ref *pointer, (byte)replacement, (byte)accumulator),
                16 => Interlocked.CompareExchange(ref Unsafe.AsRef<ushort>(pointer), (ushort)replacement, (ushort)accumulator),
                32 => Interlocked.CompareExchange(ref Unsafe.AsRef<uint>(pointer), (uint)replacement, (uint)accumulator),
                _ => Interlocked.CompareExchange(ref Unsafe.AsRef<ulong>(pointer), replacement, accumulator),
            };
        }

        cpu.SetLazyFlags(FlagOperation.Sub, bits, accumulator, previous, accumulator - previous);
        if (previous != accumulator)
        {
            cpu.WriteRegister(0, bits, previous);
        }
    }

    /// <summary>CMPXCHG8B: EDX:EAX against m64; equal stores ECX:EBX, else loads EDX:EAX. Only ZF changes.</summary>
    private static void CompareExchange8Bytes(Cpu cpu, DecodedInstruction* instruction)
    {
        var s = cpu.State;
        ulong linear = instruction->LinearAddress(s);
        ulong expected = ((ulong)(uint)s->Gpr[2] << 32) | (uint)s->Gpr[0];
        ulong replacement = ((ulong)(uint)s->Gpr[1] << 32) | (uint)s->Gpr[3];
        byte* pointer = cpu.TryGetWritablePointer(linear, 8, out bool faulted);
        if (faulted)
        {
            return;
        }

        ulong previous;
        if (pointer == null)
        {
            if (!cpu.TryRead(linear, out previous) || !cpu.TryWrite(linear, previous == expected ? replacement : previous))
            {
                return;
            }
        }
        else
        {
            // Safety: TryGetWritablePointer checked the 8 bytes lie in one writable RAM page.
            previous = Interlocked.CompareExchange(ref Unsafe.AsRef<ulong>(pointer), replacement, expected);
        }

        bool equal = previous == expected;
        cpu.SetFlag(RflagsBits.Zero, equal);
        if (!equal)
        {
            cpu.WriteRegister(0, 32, (uint)previous);
            cpu.WriteRegister(2, 32, previous >> 32);
        }
    }

    /// <summary>CMPXCHG16B: RDX:RAX against m128, RCX:RBX stored on equality; #GP(0) unless 16-byte aligned.</summary>
    private static void CompareExchange16Bytes(Cpu cpu, DecodedInstruction* instruction)
    {
        var s = cpu.State;
        ulong linear = instruction->LinearAddress(s);
        if ((linear & 15) != 0)
        {
            cpu.RaiseGeneralProtection(0);
            return;
        }

        ulong expectedLow = s->Gpr[0];
        ulong expectedHigh = s->Gpr[2];
        ulong replacementLow = s->Gpr[3];
        ulong replacementHigh = s->Gpr[1];
        byte* pointer = cpu.TryGetWritablePointer(linear, 16, out bool faulted);
        if (faulted)
        {
            return;
        }

        ulong previousLow;
        ulong previousHigh;
        bool equal;
        if (pointer == null)
        {
            if (!cpu.TryRead(linear, out previousLow) || !cpu.TryRead(linear + 8, out previousHigh))
            {
                return;
            }

            equal = previousLow == expectedLow && previousHigh == expectedHigh;
            if (!cpu.TryWrite(linear, equal ? replacementLow : previousLow) || !cpu.TryWrite(linear + 8, equal ? replacementHigh : previousHigh))
            {
                return;
            }
        }
        else
        {
            // Safety: the 16 aligned bytes lie in one writable RAM page (an aligned 16-byte access cannot cross one).
            ulong* target = (ulong*)pointer;
            lock (DoubleQuadwordLocks[(int)(((nuint)pointer >> 4) % (nuint)DoubleQuadwordLocks.Length)])
            {
                previousLow = Volatile.Read(ref target[0]);
                previousHigh = Volatile.Read(ref target[1]);
                equal = previousLow == expectedLow && previousHigh == expectedHigh;
                if (equal)
                {
                    Volatile.Write(ref target[0], replacementLow);
                    Volatile.Write(ref target[1], replacementHigh);
                }
            }
        }

        cpu.SetFlag(RflagsBits.Zero, equal);
        if (!equal)
        {
            s->Gpr[0] = previousLow;
            s->Gpr[2] = previousHigh;
        }
    }

    /// <summary>XADD: the source gets the old destination, the destination the sum; flags as ADD.</summary>
    private static void ExchangeAddRegister(Cpu cpu, DecodedInstruction* instruction)
    {
        int bits = instruction->OperandBits;
        ulong destination = cpu.ReadRegister(instruction->Operand0Register, bits);
        ulong source = cpu.ReadRegister(instruction->Operand1Register, bits);
        ulong sum = destination + source;
        cpu.SetLazyFlags(FlagOperation.Add, bits, destination, source, sum);
        cpu.WriteRegister(instruction->Operand1Register, bits, destination);
        cpu.WriteRegister(instruction->Operand0Register, bits, sum);
    }

    private static void ExchangeAddMemory(Cpu cpu, DecodedInstruction* instruction)
    {
        int bits = instruction->OperandBits;
        ulong linear = instruction->LinearAddress(cpu.State);
        ulong source = cpu.ReadRegister(instruction->Operand1Register, bits);
        byte* pointer = cpu.TryGetWritablePointer(linear, bits >> 3, out bool faulted);
        if (faulted)
        {
            return;
        }

        ulong previous;
        if (pointer == null)
        {
            if (!cpu.TryReadSized(linear, bits, out previous) || !cpu.TryWriteSized(linear, bits, previous + source))
            {
                return;
            }
        }
        else
        {
            previous = AtomicAdd(pointer, source, bits);
        }

        cpu.SetLazyFlags(FlagOperation.Add, bits, previous, source, previous + source);
        cpu.WriteRegister(instruction->Operand1Register, bits, previous);
    }

    /// <summary>Adds atomically and returns the old value.</summary>
    private static ulong AtomicAdd(byte* pointer, ulong addend, int bits)
    {
        // Safety: the caller's pointer covers bits/8 writable bytes of one RAM page.
        switch (bits)
        {
            case 8:
                {
                    byte old;
                    do
                    {
                        old = Volatile.Read(ref *pointer);
                    }
                    while (Interlocked.CompareExchange(ref *pointer, (byte)(old + addend), old) != old);
                    return old;
                }

            case 16:
                {
                    ref ushort target = ref Unsafe.AsRef<ushort>(pointer);
                    ushort old;
                    do
                    {
                        old = Volatile.Read(ref target);
                    }
                    while (Interlocked.CompareExchange(ref target, (ushort)(old + addend), old) != old);
                    return old;
                }

            case 32:
                return (uint)(Interlocked.Add(ref Unsafe.AsRef<uint>(pointer), (uint)addend) - (uint)addend);
            default:
                return Interlocked.Add(ref Unsafe.AsRef<ulong>(pointer), addend) - addend;
        }
    }
}

using System.Runtime.CompilerServices;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Jit;

/// <summary>
/// The operations compiled blocks call, each the body of an interpreter handler with the decoded fields turned into
/// parameters. The compiler passes those as constants and RyuJIT inlines the method, so a register number becomes an
/// offset and a width switch folds away. Each must leave exactly the state its handler leaves: the differential test
/// (CompilingTierDifferentialTests) compares them.
/// </summary>
internal static unsafe class CompiledOperations
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SetRip(CpuState* s, ulong rip, ulong endOffset) => s->Gpr[CpuState.RipIndex] = rip + endOffset;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Stopped(CpuState* s) => s->StopBlock != 0;

    /// <summary>Cpu.ReadRegister over the state pointer (slots 16-19 of 8-bit operands are AH, CH, DH, BH).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Read(CpuState* s, int index, int bits) => bits switch
    {
        64 => s->Gpr[index],
        32 => (uint)s->Gpr[index],
        16 => (ushort)s->Gpr[index],
        _ => index < 16 ? (byte)s->Gpr[index] : (byte)(s->Gpr[index - 16] >> 8),
    };

    /// <summary>Cpu.WriteRegister: 32-bit writes zero the upper half, 8- and 16-bit writes merge.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Write(CpuState* s, int index, int bits, ulong value)
    {
        ulong* g = s->Gpr;
        switch (bits)
        {
            case 64: g[index] = value; break;
            case 32: g[index] = (uint)value; break;
            case 16: g[index] = (g[index] & ~0xFFFFUL) | (ushort)value; break;
            default:
                if (index < 16)
                {
                    g[index] = (g[index] & ~0xFFUL) | (byte)value;
                }
                else
                {
                    g[index - 16] = (g[index - 16] & ~0xFF00UL) | ((ulong)(byte)value << 8);
                }

                break;
        }
    }

    /// <summary>DecodedInstruction.LinearAddress with the operand's recipe as constants; checked segments take the decoded path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong LinearAddress(
        CpuState* s, DecodedInstruction* instruction, int baseRegister, int indexRegister, int scaleShift, long displacement, ulong addressMask, int segment, ulong linearMask)
    {
        if (s->SegmentChecks != 0)
        {
            return CheckedLinearAddress(s, instruction);
        }

        ulong offset = (s->Gpr[baseRegister] + (s->Gpr[indexRegister] << scaleShift) + (ulong)displacement) & addressMask;
        return (offset + s->SegmentBase[segment]) & linearMask;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong CheckedLinearAddress(CpuState* s, DecodedInstruction* instruction) => instruction->LinearAddress(s);

    /// <summary>Cpu.TryRead's fast path inline, its slow path (through Cpu.TryReadSized) on a miss.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryReadSized(Cpu cpu, ulong linear, int bits, out ulong value)
    {
        byte* host = cpu.ReadPointer(linear, bits >> 3);
        if (host == null)
        {
            return cpu.ReadMiss(linear, bits, out value);
        }

        // Safety: ReadPointer checked that the TLB maps the whole operand to guest RAM.
        value = bits switch
        {
            8 => *host,
            16 => Unsafe.ReadUnaligned<ushort>(host),
            32 => Unsafe.ReadUnaligned<uint>(host),
            _ => Unsafe.ReadUnaligned<ulong>(host),
        };
        return true;
    }

    /// <summary>Cpu.TryWrite's fast path inline, its slow path (through Cpu.TryWriteSized) on a miss.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TryWriteSized(Cpu cpu, ulong linear, int bits, ulong value)
    {
        byte* host = cpu.WritePointer(linear, bits >> 3);
        if (host == null)
        {
            cpu.WriteMiss(linear, bits, value);
            return;
        }

        // Safety: WritePointer checked that the TLB maps the whole operand to writable guest RAM.
        switch (bits)
        {
            case 8: *host = (byte)value; break;
            case 16: Unsafe.WriteUnaligned(host, (ushort)value); break;
            case 32: Unsafe.WriteUnaligned(host, (uint)value); break;
            default: Unsafe.WriteUnaligned(host, value); break;
        }
    }

    /// <summary>MOV r, r (DataTransfer.MoveRegisterRegister).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MoveRegister(CpuState* s, int destination, int source, int bits) =>
        Write(s, destination, bits, Read(s, source, bits));

    /// <summary>MOV r, imm (DataTransfer.MoveRegisterImmediate).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MoveImmediate(CpuState* s, int destination, int bits, ulong immediate) =>
        Write(s, destination, bits, immediate);

    /// <summary>LEA (DataTransfer.LoadEffectiveAddress).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LoadEffectiveAddress(
        CpuState* s, int destination, int bits, int baseRegister, int indexRegister, int scaleShift, long displacement, ulong addressMask) =>
        Write(s, destination, bits, (s->Gpr[baseRegister] + (s->Gpr[indexRegister] << scaleShift) + (ulong)displacement) & addressMask);

    /// <summary>MOV r, m (DataTransfer.Load).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Load(
        Cpu cpu, CpuState* s, DecodedInstruction* instruction, int destination, int bits,
        int baseRegister, int indexRegister, int scaleShift, long displacement, ulong addressMask, int segment, ulong linearMask)
    {
        ulong linear = LinearAddress(s, instruction, baseRegister, indexRegister, scaleShift, displacement, addressMask, segment, linearMask);
        if (TryReadSized(cpu, linear, bits, out ulong value))
        {
            Write(s, destination, bits, value);
        }
    }

    /// <summary>MOV m, r (DataTransfer.Store).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(
        Cpu cpu, CpuState* s, DecodedInstruction* instruction, int source, int bits,
        int baseRegister, int indexRegister, int scaleShift, long displacement, ulong addressMask, int segment, ulong linearMask)
    {
        ulong linear = LinearAddress(s, instruction, baseRegister, indexRegister, scaleShift, displacement, addressMask, segment, linearMask);
        TryWriteSized(cpu, linear, bits, Read(s, source, bits));
    }

    /// <summary>MOV m, imm (DataTransfer.MoveMemoryImmediate).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreImmediate(
        Cpu cpu, CpuState* s, DecodedInstruction* instruction, ulong immediate, int bits,
        int baseRegister, int indexRegister, int scaleShift, long displacement, ulong addressMask, int segment, ulong linearMask)
    {
        ulong linear = LinearAddress(s, instruction, baseRegister, indexRegister, scaleShift, displacement, addressMask, segment, linearMask);
        TryWriteSized(cpu, linear, bits, immediate);
    }

    /// <summary>ALU r, r (Arithmetic.RegisterRegister); <paramref name="writeFlags"/> false when a later instruction overwrites them unseen.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void BinaryRegister(CpuState* s, int operation, int destination, int source, int bits, bool writeFlags) =>
        Binary(s, operation, destination, Read(s, source, bits), bits, writeFlags);

    /// <summary>
    /// ALU r, imm (Arithmetic.RegisterImmediate), and the common body: the lazy flag record holds the operands and the
    /// unmasked result exactly as Cpu.SetLazyFlags stores them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Binary(CpuState* s, int operation, int destination, ulong source, int bits, bool writeFlags)
    {
        ulong value = Read(s, destination, bits);
        ulong result;
        FlagOperation flags;
        switch ((AluOperation)operation)
        {
            case AluOperation.Add: result = value + source; flags = FlagOperation.Add; break;
            case AluOperation.Or: result = value | source; flags = FlagOperation.Logic; break;
            case AluOperation.And:
            case AluOperation.Test: result = value & source; flags = FlagOperation.Logic; break;
            case AluOperation.Xor: result = value ^ source; flags = FlagOperation.Logic; break;
            default: result = value - source; flags = FlagOperation.Sub; break;
        }

        if (operation != (int)AluOperation.Cmp && operation != (int)AluOperation.Test)
        {
            Write(s, destination, bits, result);
        }

        if (writeFlags)
        {
            s->LazyOp = flags;
            s->LazyBits = bits;
            s->LazySource1 = value;
            s->LazySource2 = source;
            s->LazyResult = result;
        }
    }

    /// <summary>INC r / DEC r (Arithmetic.IncrementRegister, DecrementRegister): CF is carried over into the record.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void IncrementDecrement(Cpu cpu, CpuState* s, int register, int bits, bool increment, bool writeFlags)
    {
        ulong value = Read(s, register, bits);
        ulong result = increment ? value + 1 : value - 1;
        if (writeFlags)
        {
            cpu.SetIncDecFlags(increment, bits, value, result);
        }

        Write(s, register, bits, result);
    }

    /// <summary>JMP rel (ControlFlow.JumpRelative).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void JumpRelative(CpuState* s, ulong displacement, ulong addressMask) =>
        s->Gpr[CpuState.RipIndex] = (s->Gpr[CpuState.RipIndex] + displacement) & addressMask;

    /// <summary>Jcc (ControlFlow.JumpConditional), with the condition code a constant.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void JumpConditional(Cpu cpu, CpuState* s, int condition, ulong displacement, ulong addressMask)
    {
        if (cpu.Condition(condition))
        {
            s->Gpr[CpuState.RipIndex] = (s->Gpr[CpuState.RipIndex] + displacement) & addressMask;
        }
    }

    /// <summary>CALL rel (ControlFlow.CallRelative).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CallRelative(Cpu cpu, CpuState* s, int stackBits, ulong displacement, ulong addressMask)
    {
        ulong returnAddress = s->Gpr[CpuState.RipIndex];
        if (cpu.TryPush(stackBits, returnAddress))
        {
            s->Gpr[CpuState.RipIndex] = (returnAddress + displacement) & addressMask;
        }
    }

    /// <summary>PUSH r (StackOperations.PushRegister).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PushRegister(Cpu cpu, CpuState* s, int register, int bits) => cpu.TryPush(bits, Read(s, register, bits));

    /// <summary>POP r (StackOperations.PopRegister).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PopRegister(Cpu cpu, CpuState* s, int register, int bits)
    {
        if (cpu.TryPop(bits, out ulong value))
        {
            Write(s, register, bits, value);
        }
    }

    /// <summary>RET and RET imm16 (ControlFlow.Return): a non-canonical return address faults with RSP restored.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Return(Cpu cpu, CpuState* s, int bits, ulong release)
    {
        if (cpu.TryPop(bits, out ulong target))
        {
            if (!Cpu.IsCanonical(target))
            {
                cpu.RaiseGeneralProtection(0);
                cpu.AdjustStackPointer(-(bits / 8));
                return;
            }

            s->Gpr[CpuState.RipIndex] = target;
            if (release != 0)
            {
                cpu.AdjustStackPointer((long)release);
            }
        }
    }

    /// <summary>Shifts and rotates of a register by an immediate (ShiftForms.RegisterForm with ImmediateCount), the count masked at compile time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ShiftImmediate<TOperation>(Cpu cpu, CpuState* s, int destination, int source, int count, int bits)
        where TOperation : Execution.IShiftOperation
    {
        ulong value = Read(s, destination, bits);
        if (count != 0)
        {
            value = TOperation.Execute(cpu, value, Read(s, source, bits), count, bits);
        }

        Write(s, destination, bits, value);
    }

    /// <summary>IMUL r, r, imm (MultiplyDivide.ThreeOperandRegister).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MultiplyImmediate(Cpu cpu, CpuState* s, int destination, int source, ulong immediate, int bits) =>
        Write(s, destination, bits, Execution.MultiplyDivide.MultiplyTruncating(cpu, Read(s, source, bits), immediate, bits));
}

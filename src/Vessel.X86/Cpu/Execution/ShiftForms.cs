using System.Runtime.CompilerServices;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Execution;

/// <summary>Where a shift or rotate takes its count from, fixed per encoding so the handler does not ask at run time.</summary>
public unsafe interface IShiftCount
{
    static abstract int Read(Cpu cpu, DecodedInstruction* instruction);
}

/// <summary>The "by 1" and imm8 encodings (Iced reports the implicit 1 as an immediate).</summary>
public unsafe struct ImmediateCount : IShiftCount
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Read(Cpu cpu, DecodedInstruction* instruction) => (byte)instruction->Immediate;
}

/// <summary>The CL encodings.</summary>
public unsafe struct RegisterClCount : IShiftCount
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Read(Cpu cpu, DecodedInstruction* instruction) => (byte)cpu.State->Gpr[1];
}

/// <summary>
/// A shift or rotate of <c>value</c> by a count already masked to 5 bits (6 for 64-bit operands) and non-zero;
/// <c>source</c> is the second register of SHLD/SHRD. Records the flags and returns the result.
/// </summary>
public interface IShiftOperation
{
    static abstract ulong Execute(Cpu cpu, ulong value, ulong source, int count, int bits);
}

/// <summary>The register and memory forms shared by the shifts and rotates (Intel SDM 2 SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR).</summary>
public static unsafe class ShiftForms
{
    public static void Register<TOperation>(HandlerTable table, string mnemonic)
        where TOperation : IShiftOperation
    {
        foreach (var (code, operands) in CodeFamily.Of(mnemonic))
        {
            if (operands.EndsWith("CL", StringComparison.Ordinal))
            {
                table.Add(code, &RegisterForm<TOperation, RegisterClCount>, &MemoryForm<TOperation, RegisterClCount>);
            }
            else
            {
                table.Add(code, &RegisterForm<TOperation, ImmediateCount>, &MemoryForm<TOperation, ImmediateCount>);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int MaskCount(int count, int bits) => count & (bits == 64 ? 0x3F : 0x1F);

    /// <summary>
    /// A masked count of zero changes no flags; the register is still written, so a 32-bit destination is
    /// zero-extended as for any 32-bit register write (what the hardware does).
    /// </summary>
    public static void RegisterForm<TOperation, TCount>(Cpu cpu, DecodedInstruction* instruction)
        where TOperation : IShiftOperation
        where TCount : IShiftCount
    {
        int bits = instruction->OperandBits;
        int count = MaskCount(TCount.Read(cpu, instruction), bits);
        ulong value = cpu.ReadRegister(instruction->Operand0Register, bits);
        if (count != 0)
        {
            ulong source = cpu.ReadRegister(instruction->Operand1Register, bits);
            value = TOperation.Execute(cpu, value, source, count, bits);
        }

        cpu.WriteRegister(instruction->Operand0Register, bits, value);
    }

    /// <summary>The memory destination is checked for writing even when the masked count is zero, as a read-modify-write is.</summary>
    public static void MemoryForm<TOperation, TCount>(Cpu cpu, DecodedInstruction* instruction)
        where TOperation : IShiftOperation
        where TCount : IShiftCount
    {
        int bits = instruction->OperandBits;
        int count = MaskCount(TCount.Read(cpu, instruction), bits);
        ulong linear = instruction->LinearAddress(cpu.State);
        byte* pointer = cpu.TryGetWritablePointer(linear, bits >> 3, out bool faulted);
        if (faulted)
        {
            return;
        }

        ulong value;
        if (pointer != null)
        {
            value = ReadHost(pointer, bits);
        }
        else if (!cpu.TryReadSized(linear, bits, out value))
        {
            return;
        }

        if (count == 0)
        {
            return;
        }

        ulong source = cpu.ReadRegister(instruction->Operand1Register, bits);
        ulong result = TOperation.Execute(cpu, value, source, count, bits);
        if (pointer != null)
        {
            WriteHost(pointer, bits, result);
        }
        else
        {
            cpu.TryWriteSized(linear, bits, result);
        }
    }

    /// <summary>Reads an operand through a pointer from <see cref="Cpu.TryGetWritablePointer"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong ReadHost(byte* pointer, int bits) => bits switch
    {
        // Safety: the caller's pointer covers bits/8 bytes of one RAM page.
        8 => *pointer,
        16 => Unsafe.ReadUnaligned<ushort>(pointer),
        32 => Unsafe.ReadUnaligned<uint>(pointer),
        _ => Unsafe.ReadUnaligned<ulong>(pointer),
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WriteHost(byte* pointer, int bits, ulong value)
    {
        // Safety: the caller's pointer covers bits/8 bytes of one writable RAM page.
        switch (bits)
        {
            case 8: *pointer = (byte)value; break;
            case 16: Unsafe.WriteUnaligned(pointer, (ushort)value); break;
            case 32: Unsafe.WriteUnaligned(pointer, (uint)value); break;
            default: Unsafe.WriteUnaligned(pointer, value); break;
        }
    }
}

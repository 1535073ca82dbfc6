using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Iced.Intel;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Execution.Simd;

/// <summary>Reading and writing XMM and MMX registers and their memory operands, with the alignment rules of legacy SSE.</summary>
public static unsafe class SimdOperands
{
    /// <summary>XMMi. Safety: the index is a decoded register number (0-15), so the pointer stays inside FpuState.Xmm.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<byte>* Xmm(Cpu cpu, int index) => (Vector128<byte>*)(cpu.Fpu->Xmm + (index * 2));

    /// <summary>
    /// MMi is the significand of physical x87 register Ri (Intel SDM 1 §9.5). Safety: the index is a decoded MMX
    /// register number (0-7), inside FpuState.Physical.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong ReadMmx(Cpu cpu, int index) => cpu.Fpu->Physical[index * 2];

    /// <summary>Writes MMi: the exponent and sign bits of Ri become all ones (SDM 1 §9.5.1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WriteMmx(Cpu cpu, int index, ulong value)
    {
        cpu.Fpu->Physical[index * 2] = value;
        cpu.Fpu->Physical[(index * 2) + 1] = 0xFFFF;
    }

    /// <summary>Every MMX instruction but EMMS sets TOP to 0 and tags all registers valid (SDM 1 §9.5.1, Table 9-2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void EnterMmxState(Cpu cpu)
    {
        cpu.Fpu->Top = 0;
        cpu.Fpu->TagValid = 0xFF;
    }

    /// <summary>
    /// A 128-bit operand: legacy SSE memory operands must be 16-byte aligned or #GP(0) (SDM 2 §2.4, "Exception
    /// Type 1/2/4"), except the unaligned moves and LDDQU, which pass <paramref name="aligned"/> false.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryReadSource<TForm>(Cpu cpu, DecodedInstruction* instruction, bool aligned, out Vector128<byte> value)
        where TForm : IOperandForm
    {
        if (!TForm.IsMemory)
        {
            value = *Xmm(cpu, instruction->Operand1Register);
            return true;
        }

        ulong linear = instruction->LinearAddress(cpu.State);
        if (aligned && (linear & 15) != 0)
        {
            cpu.RaiseGeneralProtection(0);
            value = default;
            return false;
        }

        return cpu.TryRead(linear, out value);
    }

    /// <summary>A 64-bit source: the low quadword of an XMM register, or an m64 (no alignment required).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryReadLowQuadword<TForm>(Cpu cpu, DecodedInstruction* instruction, out ulong value)
        where TForm : IOperandForm
    {
        if (!TForm.IsMemory)
        {
            value = cpu.Fpu->Xmm[instruction->Operand1Register * 2];
            return true;
        }

        return cpu.TryRead(instruction->LinearAddress(cpu.State), out value);
    }

    /// <summary>A 32-bit source: the low doubleword of an XMM register, or an m32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryReadLowDoubleword<TForm>(Cpu cpu, DecodedInstruction* instruction, out uint value)
        where TForm : IOperandForm
    {
        if (!TForm.IsMemory)
        {
            value = (uint)cpu.Fpu->Xmm[instruction->Operand1Register * 2];
            return true;
        }

        return cpu.TryRead(instruction->LinearAddress(cpu.State), out value);
    }

    /// <summary>A 64-bit MMX source: an MMX register or an m64.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryReadMmxSource<TForm>(Cpu cpu, DecodedInstruction* instruction, out ulong value)
        where TForm : IOperandForm
    {
        if (!TForm.IsMemory)
        {
            value = ReadMmx(cpu, instruction->Operand1Register);
            return true;
        }

        ulong linear = instruction->LinearAddress(cpu.State);
        if (instruction->Iced.MemorySize.GetSize() == 4)
        {
            // PUNPCKLBW mm, m32 and its kind read only the low half.
            bool ok = cpu.TryRead(linear, out uint low);
            value = low;
            return ok;
        }

        return cpu.TryRead(linear, out value);
    }

    /// <summary>Stores 128 bits to the memory operand, checking alignment when <paramref name="aligned"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryWriteMemory(Cpu cpu, DecodedInstruction* instruction, bool aligned, Vector128<byte> value)
    {
        ulong linear = instruction->LinearAddress(cpu.State);
        if (aligned && (linear & 15) != 0)
        {
            cpu.RaiseGeneralProtection(0);
            return false;
        }

        return cpu.TryWrite(linear, value);
    }

    /// <summary>A general-register or memory source of the operand's own width (MOVD/MOVQ, CVTSI2SS).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryReadGeneral<TForm>(Cpu cpu, DecodedInstruction* instruction, out ulong value)
        where TForm : IOperandForm
    {
        int bits = Cpu.OperandBitsOf(instruction, 1);
        if (!TForm.IsMemory)
        {
            value = cpu.ReadRegister(instruction->Operand1Register, bits);
            return true;
        }

        return cpu.TryReadSized(instruction->LinearAddress(cpu.State), bits, out value);
    }
}

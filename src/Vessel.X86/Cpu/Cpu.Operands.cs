using System.Runtime.CompilerServices;
using Iced.Intel;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu;

/// <summary>
/// Operand access by the Iced operand description, for handlers of less frequent instructions. Hot handlers use the
/// pre-resolved fields of <see cref="DecodedInstruction"/> directly instead.
/// </summary>
public sealed unsafe partial class Cpu
{
    /// <summary>Linear address of the instruction's memory operand.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong LinearAddress(DecodedInstruction* instruction) => instruction->LinearAddress(State);

    /// <summary>Linear address of a segment:offset pair, honouring 64-bit mode's flat segments.</summary>
    public ulong LinearAddressOf(SegmentRegister segment, ulong offset)
    {
        if (CodeBits == 64)
        {
            return segment is SegmentRegister.FS or SegmentRegister.GS ? offset + State->SegmentBase[(int)segment] : offset;
        }

        return (offset + State->SegmentBase[(int)segment]) & 0xFFFF_FFFF;
    }

    public bool TryReadOperand(DecodedInstruction* instruction, int operand, out ulong value)
    {
        ref readonly var iced = ref instruction->Iced;
        switch (iced.GetOpKind(operand))
        {
            case OpKind.Register:
                var register = iced.GetOpRegister(operand);
                value = ReadRegister(RegisterSlots.Of(register), register.GetSize() * 8);
                return true;
            case OpKind.Memory:
                return TryReadSized(LinearAddress(instruction), MemoryOperandBits(instruction), out value);
            case OpKind.NearBranch16:
            case OpKind.NearBranch32:
            case OpKind.NearBranch64:
                value = Rip + instruction->Immediate;
                return true;
            default:
                value = iced.GetImmediate(operand);
                return true;
        }
    }

    public bool TryWriteOperand(DecodedInstruction* instruction, int operand, ulong value)
    {
        ref readonly var iced = ref instruction->Iced;
        if (iced.GetOpKind(operand) == OpKind.Register)
        {
            var register = iced.GetOpRegister(operand);
            WriteRegister(RegisterSlots.Of(register), register.GetSize() * 8, value);
            return true;
        }

        return TryWriteSized(LinearAddress(instruction), MemoryOperandBits(instruction), value);
    }

    /// <summary>Width in bits of an operand (register size, memory size, or the instruction's operand size for immediates).</summary>
    public static int OperandBitsOf(DecodedInstruction* instruction, int operand)
    {
        ref readonly var iced = ref instruction->Iced;
        return iced.GetOpKind(operand) switch
        {
            OpKind.Register => iced.GetOpRegister(operand).GetSize() * 8,
            OpKind.Memory => MemoryOperandBits(instruction),
            _ => instruction->OperandBits,
        };
    }

    public static int MemoryOperandBits(DecodedInstruction* instruction) => instruction->Iced.MemorySize.GetSize() * 8;
}

using Iced.Intel;

namespace Vessel.X86.Tests.Differential;

/// <summary>
/// Builds a random instance of an Iced <see cref="Code"/> from its operand description: registers from
/// <see cref="MachineState.Registers"/>, memory as [R14], immediates random. Encodes it to bytes.
/// </summary>
public static class InstructionBuilder
{
    private static readonly Register[] Byte =
    [
        Register.AL, Register.BL, Register.CL, Register.DL, Register.AH, Register.BH, Register.CH, Register.DH, Register.SIL,
        Register.DIL, Register.R8L, Register.R9L, Register.R10L, Register.R11L,
    ];

    private static readonly Register[] Word = Sized(Register.AX, Register.R8W);
    private static readonly Register[] Dword = Sized(Register.EAX, Register.R8D);
    private static readonly Register[] Qword = Sized(Register.RAX, Register.R8);

    private static Register[] Sized(Register first, Register firstExtended) =>
    [
        first, first + 3, first + 1, first + 2, first + 6, first + 7, firstExtended, firstExtended + 1, firstExtended + 2, firstExtended + 3,
    ];

    /// <summary>Whether every operand of <paramref name="code"/> is something the builder can produce in that form.</summary>
    public static bool CanBuild(Code code, bool memoryForm)
    {
        var info = code.ToOpCode();
        bool hasRegisterOrMemory = false;
        bool hasMemoryOnly = false;
        for (int i = 0; i < info.OpCount; i++)
        {
            var kind = info.GetOpKind(i);
            if (kind is OpCodeOperandKind.r8_or_mem or OpCodeOperandKind.r16_or_mem or OpCodeOperandKind.r32_or_mem or OpCodeOperandKind.r64_or_mem)
            {
                hasRegisterOrMemory = true;
            }
            else if (kind == OpCodeOperandKind.mem)
            {
                hasMemoryOnly = true;
            }
            else if (OperandFor(kind, null) is null)
            {
                return false;
            }
        }

        return memoryForm ? hasRegisterOrMemory || hasMemoryOnly : !hasMemoryOnly;
    }

    public static Instruction Build(Code code, bool memoryForm, Random random)
    {
        var info = code.ToOpCode();
        var instruction = default(Instruction);
        instruction.Code = code;
        for (int i = 0; i < info.OpCount; i++)
        {
            var kind = info.GetOpKind(i);
            if (kind is OpCodeOperandKind.mem
                || (memoryForm && kind is OpCodeOperandKind.r8_or_mem or OpCodeOperandKind.r16_or_mem or OpCodeOperandKind.r32_or_mem or OpCodeOperandKind.r64_or_mem))
            {
                instruction.SetOpKind(i, OpKind.Memory);
                instruction.MemoryBase = Register.R14;
                continue;
            }

            var register = kind switch
            {
                OpCodeOperandKind.r8_or_mem => OperandFor(OpCodeOperandKind.r8_reg, random),
                OpCodeOperandKind.r16_or_mem => OperandFor(OpCodeOperandKind.r16_reg, random),
                OpCodeOperandKind.r32_or_mem => OperandFor(OpCodeOperandKind.r32_reg, random),
                OpCodeOperandKind.r64_or_mem => OperandFor(OpCodeOperandKind.r64_reg, random),
                _ => OperandFor(kind, random),
            };
            if (register is { } chosen && chosen != Register.None)
            {
                instruction.SetOpKind(i, OpKind.Register);
                instruction.SetOpRegister(i, chosen);
                continue;
            }

            SetImmediate(ref instruction, i, kind, random);
        }

        return instruction;
    }

    /// <summary>A register for a register operand kind; Register.None for immediates; null for kinds we do not build.</summary>
    private static Register? OperandFor(OpCodeOperandKind kind, Random? random) => kind switch
    {
        OpCodeOperandKind.r8_reg or OpCodeOperandKind.r8_opcode => Pick(Byte, random),
        OpCodeOperandKind.r16_reg or OpCodeOperandKind.r16_opcode => Pick(Word, random),
        OpCodeOperandKind.r32_reg or OpCodeOperandKind.r32_opcode => Pick(Dword, random),
        OpCodeOperandKind.r64_reg or OpCodeOperandKind.r64_opcode => Pick(Qword, random),
        OpCodeOperandKind.al => Register.AL,
        OpCodeOperandKind.ax => Register.AX,
        OpCodeOperandKind.eax => Register.EAX,
        OpCodeOperandKind.rax => Register.RAX,
        OpCodeOperandKind.cl => Register.CL,
        OpCodeOperandKind.imm8 or OpCodeOperandKind.imm8sex16 or OpCodeOperandKind.imm8sex32 or OpCodeOperandKind.imm8sex64
            or OpCodeOperandKind.imm16 or OpCodeOperandKind.imm32 or OpCodeOperandKind.imm32sex64 or OpCodeOperandKind.imm64
            or OpCodeOperandKind.imm8_const_1 => Register.None,
        _ => null,
    };

    private static Register Pick(Register[] registers, Random? random) => random == null ? registers[0] : registers[random.Next(registers.Length)];

    private static void SetImmediate(ref Instruction instruction, int operand, OpCodeOperandKind kind, Random random)
    {
        ulong value = Inputs.Edge(random);
        switch (kind)
        {
            case OpCodeOperandKind.imm8_const_1:
                instruction.SetOpKind(operand, OpKind.Immediate8);
                instruction.Immediate8 = 1;
                break;
            case OpCodeOperandKind.imm8:
                if (instruction.Op0Kind == OpKind.Immediate8 && operand == 2)
                {
                    instruction.SetOpKind(operand, OpKind.Immediate8_2nd);
                    instruction.Immediate8_2nd = (byte)value;
                }
                else
                {
                    instruction.SetOpKind(operand, OpKind.Immediate8);
                    instruction.Immediate8 = (byte)value;
                }

                break;
            case OpCodeOperandKind.imm8sex16:
                instruction.SetOpKind(operand, OpKind.Immediate8to16);
                instruction.Immediate8to16 = (sbyte)value;
                break;
            case OpCodeOperandKind.imm8sex32:
                instruction.SetOpKind(operand, OpKind.Immediate8to32);
                instruction.Immediate8to32 = (sbyte)value;
                break;
            case OpCodeOperandKind.imm8sex64:
                instruction.SetOpKind(operand, OpKind.Immediate8to64);
                instruction.Immediate8to64 = (sbyte)value;
                break;
            case OpCodeOperandKind.imm16:
                instruction.SetOpKind(operand, OpKind.Immediate16);
                instruction.Immediate16 = (ushort)value;
                break;
            case OpCodeOperandKind.imm32:
                instruction.SetOpKind(operand, OpKind.Immediate32);
                instruction.Immediate32 = (uint)value;
                break;
            case OpCodeOperandKind.imm32sex64:
                instruction.SetOpKind(operand, OpKind.Immediate32to64);
                instruction.Immediate32to64 = (int)value;
                break;
            default:
                instruction.SetOpKind(operand, OpKind.Immediate64);
                instruction.Immediate64 = value;
                break;
        }
    }

    /// <summary>Encodes for 64-bit mode; null when the operand choice is not encodable (AH with a REX prefix).</summary>
    public static byte[]? TryEncode(in Instruction instruction)
    {
        var writer = new ByteCollector();
        var encoder = Encoder.Create(64, writer);
        return encoder.TryEncode(instruction, 0, out _, out _) ? writer.Bytes.ToArray() : null;
    }

    /// <summary>The operand width in bits of the first operand (register or memory).</summary>
    public static int OperandBits(in Instruction instruction) =>
        instruction.Op0Kind == OpKind.Register ? instruction.Op0Register.GetSize() * 8 : instruction.MemorySize.GetSize() * 8;

    private sealed class ByteCollector : CodeWriter
    {
        public List<byte> Bytes { get; } = [];

        public override void WriteByte(byte value) => Bytes.Add(value);
    }
}

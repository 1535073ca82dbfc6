using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Execution;

/// <summary>PUSH, POP, PUSHA, POPA, ENTER and LEAVE for general registers, memory and immediates.</summary>
public static unsafe class StackOperations
{
    public static void Register(HandlerTable table)
    {
        foreach (var mnemonic in new[] { "Push", "Pushw", "Pushd", "Pushq" })
        {
            foreach (var (code, operands) in CodeFamily.Of(mnemonic))
            {
                if (operands.StartsWith('r') || operands.StartsWith("imm", StringComparison.Ordinal))
                {
                    table.Add(code, operands.StartsWith("imm", StringComparison.Ordinal) ? &PushImmediate : &PushRegister, &PushMemory);
                }
            }
        }

        foreach (var (code, operands) in CodeFamily.Of("Pop"))
        {
            if (operands.StartsWith('r'))
            {
                table.Add(code, &PopRegister, &PopMemory);
            }
        }

        table.Add(Iced.Intel.Code.Pushaw, &PushAll<Width16>);
        table.Add(Iced.Intel.Code.Pushad, &PushAll<Width32>);
        table.Add(Iced.Intel.Code.Popaw, &PopAll<Width16>);
        table.Add(Iced.Intel.Code.Popad, &PopAll<Width32>);
        table.Add(Iced.Intel.Code.Leavew, &Leave<Width16>);
        table.Add(Iced.Intel.Code.Leaved, &Leave<Width32>);
        table.Add(Iced.Intel.Code.Leaveq, &Leave<Width64>);
        table.Add(Iced.Intel.Code.Enterw_imm16_imm8, &Enter<Width16>);
        table.Add(Iced.Intel.Code.Enterd_imm16_imm8, &Enter<Width32>);
        table.Add(Iced.Intel.Code.Enterq_imm16_imm8, &Enter<Width64>);
    }

    internal static void PushRegister(Cpu cpu, DecodedInstruction* instruction)
    {
        int bits = instruction->StackBytes * 8;
        cpu.TryPush(bits, cpu.ReadRegister(instruction->Operand0Register, bits));
    }

    private static void PushImmediate(Cpu cpu, DecodedInstruction* instruction) =>
        cpu.TryPush(instruction->StackBytes * 8, instruction->Immediate);

    private static void PushMemory(Cpu cpu, DecodedInstruction* instruction)
    {
        int bits = instruction->StackBytes * 8;
        if (cpu.TryReadSized(instruction->LinearAddress(cpu.State), bits, out ulong value))
        {
            cpu.TryPush(bits, value);
        }
    }

    internal static void PopRegister(Cpu cpu, DecodedInstruction* instruction)
    {
        int bits = instruction->StackBytes * 8;
        if (cpu.TryPop(bits, out ulong value))
        {
            cpu.WriteRegister(instruction->Operand0Register, bits, value);
        }
    }

    /// <summary>POP r/m computes a stack-relative address after incrementing RSP (SDM 2 POP); a faulting store leaves RSP unchanged.</summary>
    private static void PopMemory(Cpu cpu, DecodedInstruction* instruction)
    {
        int bits = instruction->StackBytes * 8;
        ulong savedRsp = cpu.State->Gpr[4];
        if (!cpu.TryPop(bits, out ulong value))
        {
            return;
        }

        if (!cpu.TryWriteSized(instruction->LinearAddress(cpu.State), bits, value))
        {
            cpu.State->Gpr[4] = savedRsp;
        }
    }

    /// <summary>
    /// PUSHA/PUSHAD (SDM 2 PUSHA/PUSHAD; 16- and 32-bit modes only, the decoder gives no such code in 64-bit mode):
    /// AX, CX, DX, BX, the SP from before the first push, BP, SI, DI. A fault part-way restores SP, so the instruction
    /// can be restarted.
    /// </summary>
    private static void PushAll<TWidth>(Cpu cpu, DecodedInstruction* instruction)
        where TWidth : IWidth
    {
        int bits = TWidth.Bits;
        ulong savedRsp = cpu.State->Gpr[4];
        ulong originalStackPointer = cpu.ReadRegister(4, bits);
        for (int register = 0; register < 8; register++)
        {
            ulong value = register == 4 ? originalStackPointer : cpu.ReadRegister(register, bits);
            if (!cpu.TryPush(bits, value))
            {
                cpu.State->Gpr[4] = savedRsp;
                return;
            }
        }
    }

    /// <summary>
    /// POPA/POPAD (SDM 2 POPA/POPAD): DI, SI, BP, a skipped slot for SP, BX, DX, CX, AX. Nothing is written back until all
    /// eight slots have been read, so a fault part-way leaves every register as it was.
    /// </summary>
    private static void PopAll<TWidth>(Cpu cpu, DecodedInstruction* instruction)
        where TWidth : IWidth
    {
        int bits = TWidth.Bits;
        ulong savedRsp = cpu.State->Gpr[4];
        Span<ulong> values = stackalloc ulong[8];
        for (int register = 7; register >= 0; register--)
        {
            if (!cpu.TryPop(bits, out values[register]))
            {
                cpu.State->Gpr[4] = savedRsp;
                return;
            }
        }

        for (int register = 0; register < 8; register++)
        {
            if (register != 4)
            {
                cpu.WriteRegister(register, bits, values[register]);
            }
        }
    }

    /// <summary>
    /// LEAVE: SP from BP at the stack's address width, then pop BP at the operand size, which a 0x66 prefix changes
    /// (LEAVED in 16-bit code pops four bytes), so the width comes from the decoded form, not the code size.
    /// </summary>
    private static void Leave<TWidth>(Cpu cpu, DecodedInstruction* instruction)
        where TWidth : IWidth
    {
        int bits = TWidth.Bits;
        var s = cpu.State;
        ulong savedRsp = s->Gpr[4];
        int stackBits = cpu.StackAddressBits;
        cpu.WriteRegister(4, stackBits, s->Gpr[5]);
        if (cpu.TryPop(bits, out ulong frame))
        {
            cpu.WriteRegister(5, bits, frame);
        }
        else
        {
            s->Gpr[4] = savedRsp;
        }
    }

    /// <summary>
    /// ENTER size, level (SDM 2 ENTER): push rBP, copy level-1 frame pointers from the enclosing frame, push the new
    /// frame pointer, then point rBP at the frame and reserve <c>size</c> bytes. A fault part-way restores rSP and rBP.
    /// </summary>
    private static void Enter<TWidth>(Cpu cpu, DecodedInstruction* instruction)
        where TWidth : IWidth
    {
        var s = cpu.State;
        int bits = TWidth.Bits;
        int stackBits = cpu.StackAddressBits;
        ref readonly var iced = ref instruction->Iced;
        ulong size = iced.Immediate16;
        int level = iced.Immediate8_2nd & 31;
        ulong savedRsp = s->Gpr[4];
        ulong savedRbp = s->Gpr[5];
        if (!cpu.TryPush(bits, cpu.ReadRegister(5, bits)))
        {
            return;
        }

        ulong frame = cpu.ReadRegister(4, stackBits);
        if (level > 0)
        {
            ulong framePointer = cpu.ReadRegister(5, stackBits);
            ulong stackMask = WidthMath.Mask(stackBits);
            for (int i = 1; i < level; i++)
            {
                framePointer = (framePointer - (ulong)(bits >> 3)) & stackMask;
                if (cpu.OutsideStackSegment(framePointer, bits))
                {
                    s->Gpr[4] = savedRsp;
                    s->Gpr[5] = savedRbp;
                    cpu.RaiseStackLimitFault();
                    return;
                }

                ulong linear = cpu.CodeBits == 64
                    ? framePointer
                    : (framePointer + s->SegmentBase[(int)SegmentRegister.SS]) & 0xFFFF_FFFF;
                if (!cpu.TryReadSized(linear, bits, out ulong outer) || !cpu.TryPush(bits, outer))
                {
                    s->Gpr[4] = savedRsp;
                    s->Gpr[5] = savedRbp;
                    return;
                }
            }

            if (!cpu.TryPush(bits, frame))
            {
                s->Gpr[4] = savedRsp;
                s->Gpr[5] = savedRbp;
                return;
            }
        }

        cpu.WriteRegister(5, stackBits == 16 ? 16 : stackBits == 32 ? 32 : 64, frame);
        cpu.AdjustStackPointer(-(long)size);
    }
}

using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Execution;

/// <summary>PUSH, POP and LEAVE for general registers, memory and immediates.</summary>
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

        table.Add(Iced.Intel.Code.Leavew, &Leave);
        table.Add(Iced.Intel.Code.Leaved, &Leave);
        table.Add(Iced.Intel.Code.Leaveq, &Leave);
    }

    private static void PushRegister(Cpu cpu, DecodedInstruction* instruction)
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

    private static void PopRegister(Cpu cpu, DecodedInstruction* instruction)
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

    private static void Leave(Cpu cpu, DecodedInstruction* instruction)
    {
        int bits = instruction->StackBytes * 8;
        var s = cpu.State;
        ulong savedRsp = s->Gpr[4];
        int stackBits = cpu.StackAddressBits;
        cpu.WriteRegister(4, stackBits, s->Gpr[5]);
        if (cpu.TryPop(bits == 0 ? cpu.CodeBits : bits, out ulong frame))
        {
            cpu.WriteRegister(5, bits == 0 ? cpu.CodeBits : bits, frame);
        }
        else
        {
            s->Gpr[4] = savedRsp;
        }
    }
}

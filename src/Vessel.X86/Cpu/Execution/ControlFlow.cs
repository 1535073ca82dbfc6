using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Execution;

/// <summary>Near JMP, Jcc, CALL, RET, LOOP/LOOPE/LOOPNE and JCXZ/JECXZ/JRCXZ.</summary>
public static unsafe class ControlFlow
{
    public static void Register(HandlerTable table)
    {
        foreach (var (code, operands) in CodeFamily.Of("Jmp"))
        {
            if (operands.StartsWith("rel", StringComparison.Ordinal))
            {
                table.Add(code, &JumpRelative);
            }
            else if (operands is "rm16" or "rm32" or "rm64")
            {
                table.Add(code, &JumpIndirectRegister, &JumpIndirectMemory);
            }
        }

        foreach (var mnemonic in DataTransfer.ConditionMnemonics)
        {
            foreach (var (code, _) in CodeFamily.Of("J" + mnemonic))
            {
                table.Add(code, &JumpConditional);
            }
        }

        foreach (var (code, operands) in CodeFamily.Of("Call"))
        {
            if (operands.StartsWith("rel", StringComparison.Ordinal))
            {
                table.Add(code, &CallRelative);
            }
            else if (operands is "rm16" or "rm32" or "rm64")
            {
                table.Add(code, &CallIndirectRegister, &CallIndirectMemory);
            }
        }

        table.Add(Iced.Intel.Code.Retnw, &Return<Width16>);
        table.Add(Iced.Intel.Code.Retnd, &Return<Width32>);
        table.Add(Iced.Intel.Code.Retnq, &Return<Width64>);
        table.Add(Iced.Intel.Code.Retnw_imm16, &Return<Width16>);
        table.Add(Iced.Intel.Code.Retnd_imm16, &Return<Width32>);
        table.Add(Iced.Intel.Code.Retnq_imm16, &Return<Width64>);

        foreach (var (mnemonic, kind) in new[] { ("Loop", 0), ("Loope", 1), ("Loopne", 2), ("Jcxz", 3), ("Jecxz", 3), ("Jrcxz", 3) })
        {
            foreach (var (code, operands) in CodeFamily.Of(mnemonic))
            {
                int counterBits = operands.EndsWith("RCX", StringComparison.Ordinal) || mnemonic == "Jrcxz" ? 64
                    : operands.EndsWith("ECX", StringComparison.Ordinal) || mnemonic == "Jecxz" ? 32 : 16;
                table.Add(code, (kind, counterBits) switch
                {
                    (0, 16) => &Loop<Width16>,
                    (0, 32) => &Loop<Width32>,
                    (0, _) => &Loop<Width64>,
                    (1, 16) => &LoopWhileEqual<Width16>,
                    (1, 32) => &LoopWhileEqual<Width32>,
                    (1, _) => &LoopWhileEqual<Width64>,
                    (2, 16) => &LoopWhileNotEqual<Width16>,
                    (2, 32) => &LoopWhileNotEqual<Width32>,
                    (2, _) => &LoopWhileNotEqual<Width64>,
                    (_, 16) => &JumpIfCounterZero<Width16>,
                    (_, 32) => &JumpIfCounterZero<Width32>,
                    _ => &JumpIfCounterZero<Width64>,
                });
            }
        }
    }

    internal static void JumpRelative(Cpu cpu, DecodedInstruction* instruction)
    {
        var s = cpu.State;
        s->Gpr[CpuState.RipIndex] = (s->Gpr[CpuState.RipIndex] + instruction->Immediate) & instruction->AddressMask;
    }

    internal static void JumpConditional(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.Condition(instruction->Tag))
        {
            var s = cpu.State;
            s->Gpr[CpuState.RipIndex] = (s->Gpr[CpuState.RipIndex] + instruction->Immediate) & instruction->AddressMask;
        }
    }

    private static void JumpIndirectRegister(Cpu cpu, DecodedInstruction* instruction)
    {
        ulong target = cpu.ReadRegister(instruction->Operand0Register, instruction->OperandBits);
        if (IsValidTarget(cpu, target))
        {
            cpu.Rip = target;
        }
    }

    private static void JumpIndirectMemory(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.TryReadSized(instruction->LinearAddress(cpu.State), instruction->OperandBits, out ulong target)
            && IsValidTarget(cpu, target))
        {
            cpu.Rip = target;
        }
    }

    /// <summary>
    /// A near branch to a non-canonical address faults on the branch itself, with RIP still at it (SDM 2 JMP/CALL/RET,
    /// 64-bit mode exceptions), not on the fetch at the target. Outside 64-bit mode targets are below 4 GiB, so canonical.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static bool IsValidTarget(Cpu cpu, ulong target)
    {
        if (Cpu.IsCanonical(target))
        {
            return true;
        }

        cpu.RaiseGeneralProtection(0);
        return false;
    }

    internal static void CallRelative(Cpu cpu, DecodedInstruction* instruction)
    {
        var s = cpu.State;
        ulong returnAddress = s->Gpr[CpuState.RipIndex];
        if (cpu.TryPush(instruction->StackBytes * 8, returnAddress))
        {
            s->Gpr[CpuState.RipIndex] = (returnAddress + instruction->Immediate) & instruction->AddressMask;
        }
    }

    private static void CallIndirectRegister(Cpu cpu, DecodedInstruction* instruction)
    {
        ulong target = cpu.ReadRegister(instruction->Operand0Register, instruction->OperandBits);
        if (IsValidTarget(cpu, target) && cpu.TryPush(instruction->StackBytes * 8, cpu.Rip))
        {
            cpu.Rip = target;
        }
    }

    private static void CallIndirectMemory(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.TryReadSized(instruction->LinearAddress(cpu.State), instruction->OperandBits, out ulong target)
            && IsValidTarget(cpu, target) && cpu.TryPush(instruction->StackBytes * 8, cpu.Rip))
        {
            cpu.Rip = target;
        }
    }

    /// <summary>RET and RET imm16: pop the return address, then release imm16 bytes of arguments.</summary>
    internal static void Return<TWidth>(Cpu cpu, DecodedInstruction* instruction)
        where TWidth : IWidth
    {
        if (cpu.TryPop(TWidth.Bits, out ulong target))
        {
            if (!IsValidTarget(cpu, target))
            {
                cpu.AdjustStackPointer(-(TWidth.Bits / 8));
                return;
            }

            cpu.Rip = target;
            ulong release = instruction->Immediate;
            if (release != 0)
            {
                cpu.AdjustStackPointer((long)release);
            }
        }
    }

    private static bool DecrementCounter<TCounter>(Cpu cpu)
        where TCounter : IWidth
    {
        ulong counter = cpu.ReadRegister(1, TCounter.Bits) - 1;
        cpu.WriteRegister(1, TCounter.Bits, counter);
        return (counter & WidthMath.Mask(TCounter.Bits)) != 0;
    }

    private static void Branch(Cpu cpu, DecodedInstruction* instruction)
    {
        var s = cpu.State;
        s->Gpr[CpuState.RipIndex] = (s->Gpr[CpuState.RipIndex] + instruction->Immediate) & instruction->AddressMask;
    }

    private static void Loop<TCounter>(Cpu cpu, DecodedInstruction* instruction)
        where TCounter : IWidth
    {
        if (DecrementCounter<TCounter>(cpu))
        {
            Branch(cpu, instruction);
        }
    }

    private static void LoopWhileEqual<TCounter>(Cpu cpu, DecodedInstruction* instruction)
        where TCounter : IWidth
    {
        if (DecrementCounter<TCounter>(cpu) && cpu.ZeroFlag)
        {
            Branch(cpu, instruction);
        }
    }

    private static void LoopWhileNotEqual<TCounter>(Cpu cpu, DecodedInstruction* instruction)
        where TCounter : IWidth
    {
        if (DecrementCounter<TCounter>(cpu) && !cpu.ZeroFlag)
        {
            Branch(cpu, instruction);
        }
    }

    private static void JumpIfCounterZero<TCounter>(Cpu cpu, DecodedInstruction* instruction)
        where TCounter : IWidth
    {
        if (cpu.ReadRegister(1, TCounter.Bits) == 0)
        {
            Branch(cpu, instruction);
        }
    }
}

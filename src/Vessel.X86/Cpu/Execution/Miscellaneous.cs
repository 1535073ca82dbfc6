using Iced.Intel;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Execution;

/// <summary>NOP forms, ENDBR, PAUSE, fences, CLFLUSH, prefetches, HLT, INT n / INT3 / INT1 / INTO / BOUND / UD2, CPUID, RDTSC/RDTSCP.</summary>
public static unsafe class Miscellaneous
{
    public static void Register(HandlerTable table)
    {
        foreach (var code in new[]
        {
            Code.Nopw, Code.Nopd, Code.Nopq, Code.Nop_rm16, Code.Nop_rm32, Code.Nop_rm64, Code.Pause, Code.Endbr64, Code.Endbr32,
            Code.Lfence, Code.Sfence, Code.Prefetchnta_m8, Code.Prefetcht0_m8, Code.Prefetcht1_m8, Code.Prefetcht2_m8,
            Code.Lfence_E9, Code.Lfence_EA, Code.Lfence_EB, Code.Lfence_EC, Code.Lfence_ED, Code.Lfence_EE, Code.Lfence_EF,
            Code.Sfence_F9, Code.Sfence_FA, Code.Sfence_FB, Code.Sfence_FC, Code.Sfence_FD, Code.Sfence_FE, Code.Sfence_FF,
        })
        {
            table.Add(code, &NoOperation);
        }

        foreach (var code in new[] { Code.Mfence, Code.Mfence_F1, Code.Mfence_F2, Code.Mfence_F3, Code.Mfence_F4, Code.Mfence_F5, Code.Mfence_F6, Code.Mfence_F7 })
        {
            table.Add(code, &MemoryFence);
        }

        table.Add(Code.Clflush_m8, &CacheLineFlush);
        table.Add(Code.Hlt, &Halt);
        table.Add(Code.Int3, &Breakpoint);
        table.Add(Code.Int1, &DebugTrap);
        table.Add(Code.Int_imm8, &SoftwareInterrupt);
        table.Add(Code.Into, &OverflowInterrupt);
        table.Add(Code.Bound_r16_m1616, &InvalidOpcode, &CheckBounds<Width16>);
        table.Add(Code.Bound_r32_m3232, &InvalidOpcode, &CheckBounds<Width32>);
        table.Add(Code.Ud2, &InvalidOpcode);
        table.Add(Code.Cpuid, &CpuIdentification);
        table.Add(Code.Rdtsc, &ReadTimeStampCounter);
        table.Add(Code.Rdtscp, &ReadTimeStampCounterAndProcessorId);
    }

    private static void NoOperation(Cpu cpu, DecodedInstruction* instruction)
    {
    }

    private static void MemoryFence(Cpu cpu, DecodedInstruction* instruction) => Interlocked.MemoryBarrier();

    /// <summary>CLFLUSH checks its operand like a read (it may #PF) and has no other visible effect on coherent RAM.</summary>
    private static void CacheLineFlush(Cpu cpu, DecodedInstruction* instruction) =>
        cpu.TryRead(instruction->LinearAddress(cpu.State), out byte _);

    private static void Halt(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.ProtectedMode && cpu.CurrentPrivilegeLevel != 0)
        {
            cpu.RaiseGeneralProtection(0);
            return;
        }

        cpu.Halt();
    }

    private static void Breakpoint(Cpu cpu, DecodedInstruction* instruction) =>
        cpu.DeliverEvent((int)ExceptionVector.Breakpoint, false, 0, InterruptSource.Software, cpu.Rip, StartOf(cpu, instruction));

    /// <summary>INT1 (ICEBP): a #DB trap that, unlike INT n, skips the gate-DPL check (SDM 3A §6.15, "Interrupt 1").</summary>
    private static void DebugTrap(Cpu cpu, DecodedInstruction* instruction) =>
        cpu.DeliverEvent((int)ExceptionVector.Debug, false, 0, InterruptSource.Exception, cpu.Rip);

    private static void SoftwareInterrupt(Cpu cpu, DecodedInstruction* instruction) =>
        cpu.DeliverEvent((byte)instruction->Immediate, false, 0, InterruptSource.Software, cpu.Rip, StartOf(cpu, instruction));

    /// <summary>The RIP of the running instruction: where a fault during its event delivery is reported.</summary>
    private static ulong StartOf(Cpu cpu, DecodedInstruction* instruction)
    {
        ulong start = cpu.Rip - instruction->Length;
        return cpu.CodeBits == 64 ? start : start & 0xFFFF_FFFF;
    }

    private static void OverflowInterrupt(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.CodeBits == 64)
        {
            cpu.RaiseInvalidOpcode();
            return;
        }

        if (cpu.OverflowFlag)
        {
            cpu.DeliverEvent((int)ExceptionVector.Overflow, false, 0, InterruptSource.Software, cpu.Rip, StartOf(cpu, instruction));
        }
    }

    private static void InvalidOpcode(Cpu cpu, DecodedInstruction* instruction) => cpu.RaiseInvalidOpcode();

    /// <summary>BOUND: #BR unless lower &lt;= index &lt;= upper, all signed (SDM 2 BOUND); #UD in 64-bit mode.</summary>
    private static void CheckBounds<TWidth>(Cpu cpu, DecodedInstruction* instruction)
        where TWidth : IWidth
    {
        int bits = TWidth.Bits;
        if (cpu.CodeBits == 64)
        {
            cpu.RaiseInvalidOpcode();
            return;
        }

        ulong linear = instruction->LinearAddress(cpu.State);
        if (!cpu.TryReadSized(linear, bits, out ulong lower)
            || !cpu.TryReadSized((linear + (ulong)(bits >> 3)) & instruction->LinearMask, bits, out ulong upper))
        {
            return;
        }

        long index = (long)WidthMath.SignExtend(cpu.ReadRegister(instruction->Operand0Register, bits), bits);
        if (index < (long)WidthMath.SignExtend(lower, bits) || index > (long)WidthMath.SignExtend(upper, bits))
        {
            cpu.RaiseException(ExceptionVector.BoundRange);
        }
    }

    private static void CpuIdentification(Cpu cpu, DecodedInstruction* instruction)
    {
        var s = cpu.State;
        var (eax, ebx, ecx, edx) = cpu.Cpuid.Query((uint)s->Gpr[0], (uint)s->Gpr[1], cpu);
        s->Gpr[0] = eax;
        s->Gpr[3] = ebx;
        s->Gpr[1] = ecx;
        s->Gpr[2] = edx;
    }

    private static bool MayReadTimeStampCounter(Cpu cpu)
    {
        if ((cpu.Cr4 & (ulong)ControlRegister4.TimeStampDisable) != 0 && cpu.ProtectedMode && cpu.CurrentPrivilegeLevel != 0)
        {
            cpu.RaiseGeneralProtection(0);
            return false;
        }

        return true;
    }

    private static void ReadTimeStampCounter(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!MayReadTimeStampCounter(cpu))
        {
            return;
        }

        ulong tsc = cpu.TimeStampCounter;
        cpu.State->Gpr[0] = (uint)tsc;
        cpu.State->Gpr[2] = tsc >> 32;
    }

    private static void ReadTimeStampCounterAndProcessorId(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!MayReadTimeStampCounter(cpu))
        {
            return;
        }

        ulong tsc = cpu.TimeStampCounter;
        cpu.State->Gpr[0] = (uint)tsc;
        cpu.State->Gpr[2] = tsc >> 32;
        cpu.State->Gpr[1] = (uint)cpu.TscAux;
    }
}

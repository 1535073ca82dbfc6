using Iced.Intel;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Execution;

/// <summary>
/// MOV to and from CR0/CR2/CR3/CR4/CR8 and DR0-DR7, CLTS, LMSW, SMSW, INVLPG, WBINVD and INVD (Intel SDM 2, under each
/// mnemonic). All but SMSW need CPL 0; the checks on the values written live in Cpu.ControlRegisters.
/// </summary>
public static unsafe class ControlRegisters
{
    /// <summary>CR8 holds the task priority in bits 3:0; the rest is reserved (SDM 3A §10.8.6.1).</summary>
    private const ulong TaskPriorityMask = 0xF;

    public static void Register(HandlerTable table)
    {
        table.Add(Code.Mov_r32_cr, &MoveFromControlRegister);
        table.Add(Code.Mov_r64_cr, &MoveFromControlRegister);
        table.Add(Code.Mov_cr_r32, &MoveToControlRegister);
        table.Add(Code.Mov_cr_r64, &MoveToControlRegister);
        table.Add(Code.Mov_r32_dr, &MoveFromDebugRegister);
        table.Add(Code.Mov_r64_dr, &MoveFromDebugRegister);
        table.Add(Code.Mov_dr_r32, &MoveToDebugRegister);
        table.Add(Code.Mov_dr_r64, &MoveToDebugRegister);
        table.Add(Code.Clts, &ClearTaskSwitched);
        table.Add(Code.Lmsw_rm16, &LoadMachineStatusWord);
        table.Add(Code.Lmsw_r32m16, &LoadMachineStatusWord);
        table.Add(Code.Lmsw_r64m16, &LoadMachineStatusWord);
        table.Add(Code.Smsw_rm16, &StoreMachineStatusWord);
        table.Add(Code.Smsw_r32m16, &StoreMachineStatusWord);
        table.Add(Code.Smsw_r64m16, &StoreMachineStatusWord);
        table.Add(Code.Invlpg_m, &InvalidatePage);
        table.Add(Code.Wbinvd, &CacheInvalidate);
        table.Add(Code.Invd, &CacheInvalidate);
    }

    /// <summary>CPL 0 or real mode; otherwise raises #GP(0) and returns false.</summary>
    public static bool RequireSupervisor(Cpu cpu)
    {
        if (cpu.ProtectedMode && cpu.CurrentPrivilegeLevel != 0)
        {
            cpu.RaiseGeneralProtection(0);
            return false;
        }

        return true;
    }

    /// <summary>CR4.UMIP: SGDT, SIDT, SLDT, SMSW and STR are #GP(0) above CPL 0 (SDM 3A §2.5).</summary>
    public static bool RequireUserModeInstructionAllowed(Cpu cpu)
    {
        if ((cpu.Cr4 & (ulong)ControlRegister4.UserModeInstructionPrevention) != 0 && cpu.ProtectedMode && cpu.CurrentPrivilegeLevel != 0)
        {
            cpu.RaiseGeneralProtection(0);
            return false;
        }

        return true;
    }

    private static void MoveFromControlRegister(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!RequireSupervisor(cpu))
        {
            return;
        }

        ulong value;
        switch (instruction->Iced.Op1Register - Iced.Intel.Register.CR0)
        {
            case 0: value = cpu.Cr0; break;
            case 2: value = cpu.State->Cr2; break;
            case 3: value = cpu.Cr3; break;
            case 4: value = cpu.Cr4; break;
            case 8: value = cpu.Cr8; break;
            default:
                cpu.RaiseInvalidOpcode();
                return;
        }

        var destination = instruction->Iced.Op0Register;
        cpu.WriteRegister(RegisterSlots.Of(destination), destination.GetSize() * 8, value);
    }

    private static void MoveToControlRegister(Cpu cpu, DecodedInstruction* instruction)
    {
        int index = instruction->Iced.Op0Register - Iced.Intel.Register.CR0;
        if (index is not (0 or 2 or 3 or 4 or 8))
        {
            cpu.RaiseInvalidOpcode();
            return;
        }

        if (!RequireSupervisor(cpu))
        {
            return;
        }

        var source = instruction->Iced.Op1Register;
        ulong value = cpu.ReadRegister(RegisterSlots.Of(source), source.GetSize() * 8);
        bool ok;
        switch (index)
        {
            case 0:
                ok = cpu.TryWriteCr0(value);
                break;
            case 2:
                cpu.State->Cr2 = value;
                ok = true;
                break;
            case 3:
                ok = cpu.TryWriteCr3(value);
                break;
            case 4:
                ok = cpu.TryWriteCr4(value);
                break;
            default:
                ok = (value & ~TaskPriorityMask) == 0;
                if (ok)
                {
                    cpu.Cr8 = value;
                }

                break;
        }

        if (!ok)
        {
            cpu.RaiseGeneralProtection(0);
            return;
        }

        // The rest of the block was decoded under the old translation or mode.
        cpu.StopBlock();
    }

    /// <summary>DR4/DR5 alias DR6/DR7 unless CR4.DE makes them #UD (SDM 3B §18.2.2).</summary>
    private static bool TryMapDebugRegister(Cpu cpu, Iced.Intel.Register register, out int index)
    {
        index = register - Iced.Intel.Register.DR0;
        if (index is 4 or 5)
        {
            if ((cpu.Cr4 & (ulong)ControlRegister4.DebuggingExtensions) != 0)
            {
                cpu.RaiseInvalidOpcode();
                return false;
            }

            index += 2;
        }

        if (index > 7)
        {
            cpu.RaiseInvalidOpcode();
            return false;
        }

        return true;
    }

    private static void MoveFromDebugRegister(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!TryMapDebugRegister(cpu, instruction->Iced.Op1Register, out int index) || !RequireSupervisor(cpu))
        {
            return;
        }

        if (cpu.GeneralDetectEnabled)
        {
            cpu.RaiseGeneralDetect();
            return;
        }

        var destination = instruction->Iced.Op0Register;
        cpu.WriteRegister(RegisterSlots.Of(destination), destination.GetSize() * 8, cpu.ReadDebugRegister(index));
    }

    private static void MoveToDebugRegister(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!TryMapDebugRegister(cpu, instruction->Iced.Op0Register, out int index) || !RequireSupervisor(cpu))
        {
            return;
        }

        if (cpu.GeneralDetectEnabled)
        {
            cpu.RaiseGeneralDetect();
            return;
        }

        var source = instruction->Iced.Op1Register;
        if (!cpu.TryWriteDebugRegister(index, cpu.ReadRegister(RegisterSlots.Of(source), source.GetSize() * 8)))
        {
            cpu.RaiseGeneralProtection(0);
            return;
        }

        // Breakpoints armed or disarmed apply from the next instruction on.
        cpu.StopBlock();
    }

    private static void ClearTaskSwitched(Cpu cpu, DecodedInstruction* instruction)
    {
        if (RequireSupervisor(cpu))
        {
            cpu.TryWriteCr0(cpu.Cr0 & ~(ulong)ControlRegister0.TaskSwitched);
        }
    }

    /// <summary>LMSW loads CR0 bits 3:0 (PE, MP, EM, TS) and cannot clear PE (SDM 2 LMSW).</summary>
    private static void LoadMachineStatusWord(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!RequireSupervisor(cpu) || !cpu.TryReadOperand(instruction, 0, out ulong word))
        {
            return;
        }

        ulong cr0 = cpu.Cr0;
        ulong value = (cr0 & ~0xEUL) | (word & 0xF) | (cr0 & (ulong)ControlRegister0.ProtectionEnable);
        if (!cpu.TryWriteCr0(value))
        {
            cpu.RaiseGeneralProtection(0);
        }
    }

    /// <summary>SMSW stores CR0: 16 bits to memory, the operand size to a register.</summary>
    private static void StoreMachineStatusWord(Cpu cpu, DecodedInstruction* instruction)
    {
        if (RequireUserModeInstructionAllowed(cpu))
        {
            cpu.TryWriteOperand(instruction, 0, cpu.Cr0);
        }
    }

    private static void InvalidatePage(Cpu cpu, DecodedInstruction* instruction)
    {
        if (RequireSupervisor(cpu))
        {
            // INVLPG accesses no memory, so segment limits do not apply (SDM 2 INVLPG lists no #GP for them).
            var s = cpu.State;
            ulong linear = (instruction->EffectiveAddress(s) + s->SegmentBase[instruction->SegmentSlot]) & instruction->LinearMask;
            cpu.InvalidatePage(instruction->LinearMask == ulong.MaxValue ? linear : (uint)linear);
            cpu.StopBlock();
        }
    }

    /// <summary>WBINVD/INVD: caches are coherent with guest RAM here, so only the privilege check remains.</summary>
    private static void CacheInvalidate(Cpu cpu, DecodedInstruction* instruction) => RequireSupervisor(cpu);
}

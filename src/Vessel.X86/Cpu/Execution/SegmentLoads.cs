using Iced.Intel;
using Vessel.Core.Accel;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Execution;

/// <summary>
/// Data and stack segment loads: MOV Sreg, POP Sreg, PUSH Sreg, LDS/LES/LFS/LGS/LSS, with the protected-mode checks of
/// Intel SDM 2 "MOV" (segment register forms) and SDM 3A §5.5-§5.7. Far transfers and IRET share the checks here.
/// </summary>
public static unsafe class SegmentLoads
{
    public static void Register(HandlerTable table)
    {
        table.Add(Code.Mov_Sreg_rm16, &MoveToSegment);
        table.Add(Code.Mov_Sreg_r32m16, &MoveToSegment);
        table.Add(Code.Mov_Sreg_r64m16, &MoveToSegment);
        table.Add(Code.Mov_rm16_Sreg, &MoveFromSegment);
        table.Add(Code.Mov_r32m16_Sreg, &MoveFromSegment);
        table.Add(Code.Mov_r64m16_Sreg, &MoveFromSegment);

        foreach (var (code, operands) in CodeFamily.Of("Pushw").Concat(CodeFamily.Of("Pushd")).Concat(CodeFamily.Of("Pushq")))
        {
            if (operands is "ES" or "CS" or "SS" or "DS" or "FS" or "GS")
            {
                table.Add(code, &PushSegment);
            }
        }

        foreach (var (code, operands) in CodeFamily.Of("Popw").Concat(CodeFamily.Of("Popd")).Concat(CodeFamily.Of("Popq")))
        {
            if (operands is "ES" or "SS" or "DS" or "FS" or "GS")
            {
                table.Add(code, &PopSegment);
            }
        }

        foreach (var mnemonic in new[] { "Lds", "Les", "Lfs", "Lgs", "Lss" })
        {
            foreach (var (code, _) in CodeFamily.Of(mnemonic))
            {
                table.Add(code, &LoadFarPointer);
            }
        }
    }

    private static SegmentRegister SegmentOf(Iced.Intel.Register register) => (SegmentRegister)RegisterSlots.SegmentIndex(register);

    private static void MoveToSegment(Cpu cpu, DecodedInstruction* instruction)
    {
        var segment = instruction->Iced.Op0Register;
        if (segment == Iced.Intel.Register.CS || RegisterSlots.SegmentIndex(segment) < 0)
        {
            cpu.RaiseInvalidOpcode();
            return;
        }

        if (!cpu.TryReadOperand(instruction, 1, out ulong selector))
        {
            return;
        }

        if (TryLoad(cpu, SegmentOf(segment), (ushort)selector) && segment == Iced.Intel.Register.SS)
        {
            SetStackLoadShadow(cpu);
        }
    }

    /// <summary>MOV r/m, Sreg: a memory destination takes 16 bits; a register takes the selector zero-extended.</summary>
    private static void MoveFromSegment(Cpu cpu, DecodedInstruction* instruction)
    {
        var segment = instruction->Iced.Op1Register;
        if (RegisterSlots.SegmentIndex(segment) < 0)
        {
            cpu.RaiseInvalidOpcode();
            return;
        }

        ushort selector = cpu.Segment(SegmentOf(segment)).Selector;
        if (instruction->Iced.Op0Kind == OpKind.Register)
        {
            var destination = instruction->Iced.Op0Register;
            int bits = destination.GetSize() * 8;
            cpu.WriteRegister(RegisterSlots.Of(destination), bits, selector);
            return;
        }

        cpu.TryWriteSized(cpu.LinearAddress(instruction), 16, selector);
    }

    private static void PushSegment(Cpu cpu, DecodedInstruction* instruction)
    {
        var segment = instruction->Iced.Op0Register;
        cpu.TryPush(instruction->StackBytes * 8, cpu.Segment(SegmentOf(segment)).Selector);
    }

    private static void PopSegment(Cpu cpu, DecodedInstruction* instruction)
    {
        var segment = instruction->Iced.Op0Register;
        ulong savedRsp = cpu.State->Gpr[4];
        if (!cpu.TryPop(instruction->StackBytes * 8, out ulong selector))
        {
            return;
        }

        if (!TryLoad(cpu, SegmentOf(segment), (ushort)selector))
        {
            cpu.State->Gpr[4] = savedRsp;
            return;
        }

        if (segment == Iced.Intel.Register.SS)
        {
            SetStackLoadShadow(cpu);
        }
    }

    /// <summary>LDS/LES/LFS/LGS/LSS r, m16:16/32/64: the offset comes first, the selector after it.</summary>
    private static void LoadFarPointer(Cpu cpu, DecodedInstruction* instruction)
    {
        var destination = instruction->Iced.Op0Register;
        int bits = destination.GetSize() * 8;
        ulong address = cpu.LinearAddress(instruction);
        if (!cpu.TryReadSized(address, bits, out ulong offset) || !cpu.TryRead(address + (ulong)(bits / 8), out ushort selector))
        {
            return;
        }

        var segment = instruction->Iced.Code switch
        {
            Code.Lds_r16_m1616 or Code.Lds_r32_m1632 => SegmentRegister.DS,
            Code.Les_r16_m1616 or Code.Les_r32_m1632 => SegmentRegister.ES,
            Code.Lfs_r16_m1616 or Code.Lfs_r32_m1632 or Code.Lfs_r64_m1664 => SegmentRegister.FS,
            Code.Lgs_r16_m1616 or Code.Lgs_r32_m1632 or Code.Lgs_r64_m1664 => SegmentRegister.GS,
            _ => SegmentRegister.SS,
        };
        if (!TryLoad(cpu, segment, selector))
        {
            return;
        }

        cpu.WriteRegister(RegisterSlots.Of(destination), bits, offset);
        if (segment == SegmentRegister.SS)
        {
            SetStackLoadShadow(cpu);
        }
    }

    /// <summary>MOV SS and POP SS hold off interrupts until the next instruction has run (SDM 2 MOV, "Operation").</summary>
    private static void SetStackLoadShadow(Cpu cpu)
    {
        cpu.State->InterruptShadow = CpuState.ShadowAfterStackLoad;
        cpu.StopBlock();
    }

    /// <summary>Loads ES, SS, DS, FS or GS from a selector as MOV Sreg does; false when a fault was raised.</summary>
    public static bool TryLoad(Cpu cpu, SegmentRegister register, ushort selector)
    {
        var current = cpu.Segment(register);
        if (!cpu.ProtectedMode || (cpu.Rflags & (ulong)RflagsBits.Virtual8086) != 0)
        {
            // Real mode: only the selector and base change; the cached limit and attributes stay ("unreal mode").
            cpu.SetSegmentCache(register, current with { Selector = selector, Base = (ulong)selector << 4 });
            return true;
        }

        int cpl = cpu.CurrentPrivilegeLevel;
        if (register == SegmentRegister.SS)
        {
            if (!TryCheckStackSegment(cpu, selector, cpl, cpu.CodeBits == 64, out var stack, out ulong stackDescriptor))
            {
                return false;
            }

            if ((selector & 0xFFFC) != 0)
            {
                cpu.MarkDescriptorAccessed(selector, stackDescriptor);
            }

            cpu.SetSegmentCache(SegmentRegister.SS, stack);
            return true;
        }

        if ((selector & 0xFFFC) == 0)
        {
            // A null selector loads an unusable segment; a later access through it faults (SDM 3A §5.4.1).
            cpu.SetSegmentCache(register, NullSegment(selector));
            return true;
        }

        if (!cpu.TryReadDescriptor(selector, out ulong descriptor))
        {
            return RaiseSelectorFault(cpu, ExceptionVector.GeneralProtection, selector);
        }

        var segment = Cpu.SegmentFromDescriptor(selector, descriptor);
        var attributes = segment.Attributes;
        bool codeOrData = (attributes & SegmentAttributes.CodeOrData) != 0;
        bool code = (attributes & SegmentAttributes.Executable) != 0;
        bool readable = !code || (attributes & SegmentAttributes.ReadableOrWritable) != 0;
        bool conformingCode = code && (attributes & SegmentAttributes.ConformingOrExpandDown) != 0;
        int rpl = selector & 3;
        int dpl = segment.DescriptorPrivilegeLevel;
        if (!codeOrData || !readable || (!conformingCode && (rpl > dpl || cpl > dpl)))
        {
            return RaiseSelectorFault(cpu, ExceptionVector.GeneralProtection, selector);
        }

        if ((attributes & SegmentAttributes.Present) == 0)
        {
            return RaiseSelectorFault(cpu, ExceptionVector.SegmentNotPresent, selector);
        }

        cpu.MarkDescriptorAccessed(selector, descriptor);
        cpu.SetSegmentCache(register, segment with { Attributes = attributes | SegmentAttributes.Accessed });
        return true;
    }

    /// <summary>
    /// Checks a selector for SS at privilege <paramref name="cpl"/> (a MOV SS, or the stack of a return to an outer level).
    /// A null selector is allowed only where 64-bit code runs below CPL 3 (SDM 3A §5.4.1.1), and gives an unusable SS.
    /// </summary>
    public static bool TryCheckStackSegment(Cpu cpu, ushort selector, int cpl, bool nullAllowed, out SegmentState stack, out ulong descriptor)
    {
        stack = default;
        descriptor = 0;
        int rpl = selector & 3;
        if ((selector & 0xFFFC) == 0)
        {
            if (!nullAllowed || cpl == 3 || rpl != cpl)
            {
                cpu.RaiseGeneralProtection(0);
                return false;
            }

            stack = NullSegment(selector);
            return true;
        }

        if (!cpu.TryReadDescriptor(selector, out descriptor))
        {
            return RaiseSelectorFault(cpu, ExceptionVector.GeneralProtection, selector);
        }

        stack = Cpu.SegmentFromDescriptor(selector, descriptor);
        var attributes = stack.Attributes;
        bool writableData = (attributes & (SegmentAttributes.CodeOrData | SegmentAttributes.Executable | SegmentAttributes.ReadableOrWritable))
            == (SegmentAttributes.CodeOrData | SegmentAttributes.ReadableOrWritable);
        if (rpl != cpl || !writableData || stack.DescriptorPrivilegeLevel != cpl)
        {
            return RaiseSelectorFault(cpu, ExceptionVector.GeneralProtection, selector);
        }

        if ((attributes & SegmentAttributes.Present) == 0)
        {
            return RaiseSelectorFault(cpu, ExceptionVector.StackFault, selector);
        }

        stack = stack with { Attributes = attributes | SegmentAttributes.Accessed };
        return true;
    }

    /// <summary>
    /// After a return to an outer level, DS/ES/FS/GS that the new CPL may not use become null (SDM 2 RET and IRET:
    /// data or non-conforming code segments with DPL &lt; CPL). Only the selector is zeroed ("SegmentSelector ← 0"), so
    /// FS and GS keep their bases, which 64-bit code still uses (a base set through IA32_GS_BASE survives the return).
    /// </summary>
    public static void InvalidateForOuterPrivilege(Cpu cpu, int newPrivilege)
    {
        foreach (var register in (ReadOnlySpan<SegmentRegister>)[SegmentRegister.ES, SegmentRegister.DS, SegmentRegister.FS, SegmentRegister.GS])
        {
            var segment = cpu.Segment(register);
            var attributes = segment.Attributes;
            bool conformingCode = (attributes & (SegmentAttributes.Executable | SegmentAttributes.ConformingOrExpandDown))
                == (SegmentAttributes.Executable | SegmentAttributes.ConformingOrExpandDown);
            bool usable = (attributes & SegmentAttributes.Present) != 0 && (attributes & SegmentAttributes.CodeOrData) != 0;
            if (usable && !conformingCode && segment.DescriptorPrivilegeLevel < newPrivilege)
            {
                // Only the selector and the attributes are invalidated; the hidden base survives, which is what 64-bit
                // code observes through FS and GS after returning to ring 3 (kvm-unit-tests emulator64 test_iret,
                // which passes on hardware). A MOV of a null selector is different: it clears the base on Intel.
                cpu.SetSegmentCache(register, new SegmentState(0, segment.Base, 0, SegmentAttributes.None));
            }
        }
    }

    public static SegmentState NullSegment(ushort selector) => new(selector, 0, 0, SegmentAttributes.None);

    /// <summary>Raises a fault whose error code is the selector (index and TI, RPL cleared); always false.</summary>
    public static bool RaiseSelectorFault(Cpu cpu, ExceptionVector vector, ushort selector)
    {
        cpu.RaiseException(vector, (uint)(selector & 0xFFFC));
        return false;
    }
}

using Iced.Intel;
using Vessel.Core.Accel;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Execution;

/// <summary>
/// JMP FAR, CALL FAR and RETF between code segments (Intel SDM 2 JMP, CALL, RET; SDM 3A §5.8): real mode, protected
/// mode, and long mode's 64-bit and compatibility segments. A far transfer may change the code width, so it always
/// ends the block. Call gates and task switches are not emulated: a transfer through a system descriptor is #GP(selector).
/// </summary>
public static unsafe class FarTransfers
{
    private static int reportedSystemTarget;

    public static void Register(HandlerTable table)
    {
        table.Add(Code.Jmp_ptr1616, &JumpFar);
        table.Add(Code.Jmp_ptr1632, &JumpFar);
        table.Add(Code.Jmp_m1616, &JumpFar);
        table.Add(Code.Jmp_m1632, &JumpFar);
        table.Add(Code.Jmp_m1664, &JumpFar);
        table.Add(Code.Call_ptr1616, &CallFar);
        table.Add(Code.Call_ptr1632, &CallFar);
        table.Add(Code.Call_m1616, &CallFar);
        table.Add(Code.Call_m1632, &CallFar);
        table.Add(Code.Call_m1664, &CallFar);
        table.Add(Code.Retfw, &ReturnFar<Width16>);
        table.Add(Code.Retfd, &ReturnFar<Width32>);
        table.Add(Code.Retfq, &ReturnFar<Width64>);
        table.Add(Code.Retfw_imm16, &ReturnFar<Width16>);
        table.Add(Code.Retfd_imm16, &ReturnFar<Width32>);
        table.Add(Code.Retfq_imm16, &ReturnFar<Width64>);
    }

    private static bool RealAddressing(Cpu cpu) => !cpu.ProtectedMode || (cpu.Rflags & (ulong)RflagsBits.Virtual8086) != 0;

    /// <summary>The far pointer operand: an immediate ptr16:16/32, or m16:16/32/64 with the offset first.</summary>
    private static bool TryReadFarPointer(Cpu cpu, DecodedInstruction* instruction, out ushort selector, out ulong offset, out int bits)
    {
        ref readonly var iced = ref instruction->Iced;
        switch (iced.Op0Kind)
        {
            case OpKind.FarBranch16:
                selector = iced.FarBranchSelector;
                offset = iced.FarBranch16;
                bits = 16;
                return true;
            case OpKind.FarBranch32:
                selector = iced.FarBranchSelector;
                offset = iced.FarBranch32;
                bits = 32;
                return true;
        }

        bits = (iced.MemorySize.GetSize() - 2) * 8;
        ulong address = cpu.LinearAddress(instruction);
        selector = 0;
        if (!cpu.TryReadSized(address, bits, out offset) || !cpu.TryRead(address + (ulong)(bits / 8), out selector))
        {
            return false;
        }

        return true;
    }

    private static void JumpFar(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!TryReadFarPointer(cpu, instruction, out ushort selector, out ulong offset, out int bits))
        {
            return;
        }

        if (RealAddressing(cpu))
        {
            LoadRealModeCode(cpu, selector, offset, bits);
            return;
        }

        if (TryCheckCallTarget(cpu, selector, offset, out var code, out ulong descriptor))
        {
            CommitCode(cpu, selector, descriptor, code, cpu.CurrentPrivilegeLevel, offset);
        }
    }

    /// <summary>CALL FAR pushes CS then the return offset, both at the operand size, on the caller's stack.</summary>
    private static void CallFar(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!TryReadFarPointer(cpu, instruction, out ushort selector, out ulong offset, out int bits))
        {
            return;
        }

        ushort returnSelector = cpu.Segment(SegmentRegister.CS).Selector;
        ulong returnOffset = cpu.Rip;
        SegmentState code = default;
        ulong descriptor = 0;
        bool real = RealAddressing(cpu);
        if (!real && !TryCheckCallTarget(cpu, selector, offset, out code, out descriptor))
        {
            return;
        }

        ulong savedRsp = cpu.State->Gpr[4];
        if (!cpu.TryPush(bits, returnSelector) || !cpu.TryPush(bits, returnOffset))
        {
            cpu.State->Gpr[4] = savedRsp;
            return;
        }

        if (real)
        {
            LoadRealModeCode(cpu, selector, offset, bits);
            return;
        }

        CommitCode(cpu, selector, descriptor, code, cpu.CurrentPrivilegeLevel, offset);
    }

    /// <summary>RETF [imm16]: to the same level, or to an outer level popping SS:RSP as well (SDM 2 RET, "Operation").</summary>
    private static void ReturnFar<TWidth>(Cpu cpu, DecodedInstruction* instruction)
        where TWidth : IWidth
    {
        int bits = TWidth.Bits;
        ulong slot = (ulong)(bits / 8);
        ulong release = instruction->Immediate & 0xFFFF;
        if (!cpu.TryPeekStack(bits, 0, out ulong offset) || !cpu.TryPeekStack(16, slot, out ulong selectorValue))
        {
            return;
        }

        ushort selector = (ushort)selectorValue;
        if (RealAddressing(cpu))
        {
            cpu.AdjustStackPointer((long)((2 * slot) + release));
            LoadRealModeCode(cpu, selector, offset, bits);
            return;
        }

        int cpl = cpu.CurrentPrivilegeLevel;
        int rpl = selector & 3;
        if (!TryCheckReturnTarget(cpu, selector, out var code, out ulong descriptor))
        {
            return;
        }

        bool target64 = cpu.LongMode && (code.Attributes & SegmentAttributes.Long) != 0;
        if (rpl == cpl)
        {
            if (!CheckOffset(cpu, code, target64, offset))
            {
                return;
            }

            // Release the frame at the caller's stack width, before CS (and with it the width) changes.
            cpu.AdjustStackPointer((long)((2 * slot) + release));
            CommitCode(cpu, selector, descriptor, code, cpl, offset);
            return;
        }

        ulong stackOffset = (2 * slot) + release;
        if (!cpu.TryPeekStack(bits, stackOffset, out ulong newStackPointer) || !cpu.TryPeekStack(16, stackOffset + slot, out ulong stackSelector))
        {
            return;
        }

        if (!SegmentLoads.TryCheckStackSegment(cpu, (ushort)stackSelector, rpl, target64, out var stack, out ulong stackDescriptor)
            || !CheckOffset(cpu, code, target64, offset))
        {
            return;
        }

        CommitCode(cpu, selector, descriptor, code, rpl, offset);
        CommitStack(cpu, (ushort)stackSelector, stackDescriptor, stack, newStackPointer + release);
        SegmentLoads.InvalidateForOuterPrivilege(cpu, rpl);
    }

    /// <summary>Real mode and virtual-8086: CS = selector, base = selector * 16, limits and attributes unchanged.</summary>
    private static void LoadRealModeCode(Cpu cpu, ushort selector, ulong offset, int bits)
    {
        var cs = cpu.Segment(SegmentRegister.CS);
        cpu.SetSegmentCache(SegmentRegister.CS, cs with { Selector = selector, Base = (ulong)selector << 4 });
        cpu.Rip = bits == 16 ? offset & 0xFFFF : offset & 0xFFFF_FFFF;
        cpu.StopBlock();
    }

    /// <summary>
    /// JMP/CALL to a code segment at the current level: conforming with DPL &lt;= CPL, or non-conforming with RPL &lt;= CPL
    /// and DPL = CPL (SDM 3A §5.8.1). A system descriptor (call gate, TSS, task gate) is not supported: #GP(selector).
    /// </summary>
    private static bool TryCheckCallTarget(Cpu cpu, ushort selector, ulong offset, out SegmentState code, out ulong descriptor)
    {
        code = default;
        descriptor = 0;
        if ((selector & 0xFFFC) == 0)
        {
            cpu.RaiseGeneralProtection(0);
            return false;
        }

        if (!cpu.TryReadDescriptor(selector, out descriptor))
        {
            return SegmentLoads.RaiseSelectorFault(cpu, ExceptionVector.GeneralProtection, selector);
        }

        code = Cpu.SegmentFromDescriptor(selector, descriptor);
        if ((code.Attributes & SegmentAttributes.CodeOrData) == 0)
        {
            if (Interlocked.Exchange(ref reportedSystemTarget, 1) == 0)
            {
                cpu.Log.Warn($"far transfer through system descriptor type {(int)code.Attributes & 0xF} (selector 0x{selector:x}): call gates and task switches are not emulated, raising #GP");
            }

            return SegmentLoads.RaiseSelectorFault(cpu, ExceptionVector.GeneralProtection, selector);
        }

        int cpl = cpu.CurrentPrivilegeLevel;
        int dpl = code.DescriptorPrivilegeLevel;
        bool conforming = (code.Attributes & SegmentAttributes.ConformingOrExpandDown) != 0;
        bool allowed = (code.Attributes & SegmentAttributes.Executable) != 0
            && (conforming ? dpl <= cpl : (selector & 3) <= cpl && dpl == cpl);
        if (!allowed || !ValidLongModeCode(cpu, code))
        {
            return SegmentLoads.RaiseSelectorFault(cpu, ExceptionVector.GeneralProtection, selector);
        }

        if ((code.Attributes & SegmentAttributes.Present) == 0)
        {
            return SegmentLoads.RaiseSelectorFault(cpu, ExceptionVector.SegmentNotPresent, selector);
        }

        return CheckOffset(cpu, code, cpu.LongMode && (code.Attributes & SegmentAttributes.Long) != 0, offset);
    }

    /// <summary>
    /// The code segment a RETF or IRET returns to: RPL &gt;= CPL; conforming with DPL &lt;= RPL, non-conforming with
    /// DPL = RPL; present (SDM 2 RET and IRET, "Operation").
    /// </summary>
    public static bool TryCheckReturnTarget(Cpu cpu, ushort selector, out SegmentState code, out ulong descriptor)
    {
        code = default;
        descriptor = 0;
        if ((selector & 0xFFFC) == 0)
        {
            cpu.RaiseGeneralProtection(0);
            return false;
        }

        if (!cpu.TryReadDescriptor(selector, out descriptor))
        {
            return SegmentLoads.RaiseSelectorFault(cpu, ExceptionVector.GeneralProtection, selector);
        }

        code = Cpu.SegmentFromDescriptor(selector, descriptor);
        int rpl = selector & 3;
        int dpl = code.DescriptorPrivilegeLevel;
        bool isCode = (code.Attributes & (SegmentAttributes.CodeOrData | SegmentAttributes.Executable))
            == (SegmentAttributes.CodeOrData | SegmentAttributes.Executable);
        bool conforming = (code.Attributes & SegmentAttributes.ConformingOrExpandDown) != 0;
        if (!isCode || rpl < cpu.CurrentPrivilegeLevel || (conforming ? dpl > rpl : dpl != rpl) || !ValidLongModeCode(cpu, code))
        {
            return SegmentLoads.RaiseSelectorFault(cpu, ExceptionVector.GeneralProtection, selector);
        }

        if ((code.Attributes & SegmentAttributes.Present) == 0)
        {
            return SegmentLoads.RaiseSelectorFault(cpu, ExceptionVector.SegmentNotPresent, selector);
        }

        return true;
    }

    /// <summary>In IA-32e mode a code segment with both L and D set is reserved (SDM 3A §5.2.1).</summary>
    private static bool ValidLongModeCode(Cpu cpu, in SegmentState code) =>
        !cpu.LongMode || (code.Attributes & (SegmentAttributes.Long | SegmentAttributes.DefaultBig)) != (SegmentAttributes.Long | SegmentAttributes.DefaultBig);

    /// <summary>The new RIP must be canonical for 64-bit code, else within the segment limit: #GP(0) otherwise.</summary>
    public static bool CheckOffset(Cpu cpu, in SegmentState code, bool target64, ulong offset)
    {
        bool ok = target64 ? Cpu.IsCanonical(offset) : offset <= code.Limit;
        if (!ok)
        {
            cpu.RaiseGeneralProtection(0);
        }

        return ok;
    }

    /// <summary>Loads CS (RPL forced to the new CPL) and RIP after every check has passed, and ends the block.</summary>
    public static void CommitCode(Cpu cpu, ushort selector, ulong descriptor, in SegmentState code, int privilege, ulong offset)
    {
        cpu.MarkDescriptorAccessed(selector, descriptor);
        cpu.SetSegmentCache(SegmentRegister.CS, code with
        {
            Selector = (ushort)((selector & 0xFFFC) | privilege),
            Attributes = code.Attributes | SegmentAttributes.Accessed,
        });
        cpu.Rip = cpu.CodeBits == 64 ? offset : offset & 0xFFFF_FFFF;
        cpu.StopBlock();
    }

    /// <summary>Loads SS and the stack pointer at the width the new SS and code segment give it.</summary>
    public static void CommitStack(Cpu cpu, ushort selector, ulong descriptor, in SegmentState stack, ulong stackPointer)
    {
        if ((selector & 0xFFFC) != 0)
        {
            cpu.MarkDescriptorAccessed(selector, descriptor);
        }

        cpu.SetSegmentCache(SegmentRegister.SS, stack);
        var s = cpu.State;
        s->Gpr[4] = cpu.StackAddressBits switch
        {
            64 => stackPointer,
            32 => (uint)stackPointer,
            _ => (s->Gpr[4] & ~0xFFFFUL) | (ushort)stackPointer,
        };
    }
}

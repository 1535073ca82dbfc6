using Vessel.Core.Accel;

namespace Vessel.X86.Cpu;

/// <summary>
/// Exceptions and interrupts: raising them without .NET exceptions (a pending flag the run loop checks at the end of
/// the block), and delivering them through the IVT (real mode) or IDT (protected and long mode).
/// </summary>
public sealed unsafe partial class Cpu
{
    private const int GateTypeInterrupt32 = 0xE;
    private const int GateTypeTrap32 = 0xF;
    private const int GateTypeInterrupt16 = 0x6;
    private const int GateTypeTrap16 = 0x7;

    /// <summary>Set by a triple fault; the run loop turns it into a Shutdown exit.</summary>
    private string? shutdownReason;

    /// <summary>Makes an exception pending and stops the block. The faulting instruction's RIP is restored by the run loop.</summary>
    public void RaiseException(ExceptionVector vector, uint errorCode = 0)
    {
        var s = State;
        s->ExceptionPending = 1;
        s->ExceptionVector = (int)vector;
        s->ExceptionErrorCode = errorCode;
        s->ExceptionHasErrorCode = HasErrorCode((int)vector) ? 1 : 0;
        s->StopBlock = 1;
    }

    public void RaiseGeneralProtection(uint errorCode) => RaiseException(ExceptionVector.GeneralProtection, errorCode);

    public void RaiseInvalidOpcode() => RaiseException(ExceptionVector.InvalidOpcode);

    public void StopBlock() => State->StopBlock = 1;

    private static bool HasErrorCode(int vector) => vector is 8 or 10 or 11 or 12 or 13 or 14 or 17 or 21 or 29 or 30;

    private static bool IsContributory(int vector) => vector is 0 or 10 or 11 or 12 or 13;

    /// <summary>Delivers the exception a handler left pending, folding nested faults into #DF and a triple fault (SDM 3A Table 6-5).</summary>
    internal void DeliverPendingException()
    {
        var s = State;
        int vector = s->ExceptionVector;
        uint errorCode = s->ExceptionErrorCode;
        bool hasErrorCode = s->ExceptionHasErrorCode != 0;
        s->ExceptionPending = 0;
        nonCanonicalDataAccess = false;
        DeliverEvent(vector, hasErrorCode, errorCode, InterruptSource.Exception, Rip);
    }

    /// <summary>Delivers an event; nested faults during delivery become #DF, and a fault while delivering #DF shuts the CPU down.</summary>
    public void DeliverEvent(int vector, bool hasErrorCode, uint errorCode, InterruptSource source, ulong returnRip) =>
        DeliverEvent(vector, hasErrorCode, errorCode, source, returnRip, returnRip);

    /// <summary>
    /// Delivers an event whose own delivery may fault at a different RIP: INT n, INT3 and INTO push the address of the next
    /// instruction, but a fault while delivering them (a not-present gate, a stack that faults) is reported at the INT
    /// instruction itself, so the handler can fix the cause and IRET to run it again (SDM 3A §6.5, "faults").
    /// </summary>
    public void DeliverEvent(int vector, bool hasErrorCode, uint errorCode, InterruptSource source, ulong returnRip, ulong faultRip)
    {
        var s = State;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            s->ExceptionPending = 0;
            if (TryDeliver(vector, hasErrorCode, errorCode, source, returnRip))
            {
                return;
            }

            int second = s->ExceptionVector;
            s->ExceptionPending = 0;
            if (vector == (int)ExceptionVector.DoubleFault)
            {
                break;
            }

            bool firstIsPageFault = vector == (int)ExceptionVector.PageFault;
            bool doubleFault = (IsContributory(vector) && IsContributory(second))
                || (firstIsPageFault && (IsContributory(second) || second == (int)ExceptionVector.PageFault));
            if (doubleFault)
            {
                vector = (int)ExceptionVector.DoubleFault;
                hasErrorCode = true;
                errorCode = 0;
            }
            else
            {
                vector = second;
                hasErrorCode = s->ExceptionHasErrorCode != 0;
                errorCode = s->ExceptionErrorCode;
            }

            source = InterruptSource.Exception;
            returnRip = faultRip;
        }

        shutdownReason = $"triple fault while delivering vector {vector} at RIP 0x{returnRip:x}";
        s->StopBlock = 1;
    }

    private bool TryDeliver(int vector, bool hasErrorCode, uint errorCode, InterruptSource source, ulong returnRip)
    {
        if (!ProtectedMode)
        {
            return TryDeliverRealMode(vector, returnRip);
        }

        // SDM 3A §18.3.1.1: a fault-class exception pushes EFLAGS with RF set, so IRET restarting the faulting
        // instruction does not retrigger an instruction breakpoint; delivery itself then clears RF.
        ulong flags = Rflags;
        if (source == InterruptSource.Exception && IsFaultClass(vector))
        {
            Rflags = flags | (ulong)RflagsBits.Resume;
        }

        bool delivered = LongMode
            ? TryDeliverLongMode(vector, hasErrorCode, errorCode, source, returnRip)
            : TryDeliverProtectedMode(vector, hasErrorCode, errorCode, source, returnRip);
        if (!delivered)
        {
            Rflags = flags;
        }

        return delivered;
    }

    /// <summary>
    /// Fault-class exceptions (SDM 3A Table 6-1), less #DB: its instruction-breakpoint form is a fault that must not set
    /// RF, and its other forms are traps. #BP and #OF are traps, #DF and #MC aborts, NMI an interrupt.
    /// </summary>
    private static bool IsFaultClass(int vector) => vector is < 32 and not (1 or 2 or 3 or 4 or 8 or 18);

    private uint IdtErrorCode(int vector, InterruptSource source) =>
        (uint)(vector * 8) + 2 + (source == InterruptSource.Software ? 0u : 1u);

    /// <summary>Real mode: the IVT holds 4-byte CS:IP vectors; push FLAGS, CS, IP (SDM 3A §20.1.4).</summary>
    private bool TryDeliverRealMode(int vector, ulong returnRip)
    {
        if ((ulong)(vector * 4) + 3 > Idtr.Limit)
        {
            RaiseGeneralProtection(0);
            return false;
        }

        if (!TryReadSystem(Idtr.Base + (ulong)(vector * 4), out uint entry))
        {
            return false;
        }

        ulong flags = Rflags;
        var cs = segments[(int)SegmentRegister.CS];
        if (!TryPush(16, flags) || !TryPush(16, cs.Selector) || !TryPush(16, returnRip))
        {
            return false;
        }

        Rflags = flags & ~(ulong)(RflagsBits.InterruptEnable | RflagsBits.Trap | RflagsBits.AlignmentCheck | RflagsBits.Resume);
        ushort selector = (ushort)(entry >> 16);
        SetSegmentCache(SegmentRegister.CS, cs with { Selector = selector, Base = (ulong)selector << 4 });
        Rip = entry & 0xFFFF;
        return true;
    }

    /// <summary>Long mode: 16-byte gates, stack switch through the TSS or IST, 8-byte frame always with SS:RSP (SDM 3A §6.14).</summary>
    private bool TryDeliverLongMode(int vector, bool hasErrorCode, uint errorCode, InterruptSource source, ulong returnRip)
    {
        ulong gateOffset = (ulong)vector * 16;
        if (gateOffset + 15 > Idtr.Limit)
        {
            RaiseGeneralProtection(IdtErrorCode(vector, source));
            return false;
        }

        if (!TryReadSystem(Idtr.Base + gateOffset, out ulong low) || !TryReadSystem(Idtr.Base + gateOffset + 8, out ulong high))
        {
            return false;
        }

        int type = (int)((low >> 40) & 0xF);
        int gateDpl = (int)((low >> 45) & 3);
        if (type != GateTypeInterrupt32 && type != GateTypeTrap32)
        {
            RaiseGeneralProtection(IdtErrorCode(vector, source));
            return false;
        }

        if (source == InterruptSource.Software && gateDpl < CurrentPrivilegeLevel)
        {
            RaiseGeneralProtection(IdtErrorCode(vector, source));
            return false;
        }

        if ((low & (1UL << 47)) == 0)
        {
            RaiseException(ExceptionVector.SegmentNotPresent, IdtErrorCode(vector, source));
            return false;
        }

        ushort targetSelector = (ushort)(low >> 16);
        ulong target = (low & 0xFFFF) | ((low >> 32) & 0xFFFF_0000) | (high << 32);
        int ist = (int)((low >> 32) & 7);
        uint selectorError = (uint)(targetSelector & 0xFFFC) | (source == InterruptSource.Software ? 0u : 1u);
        if ((targetSelector & 0xFFFC) == 0)
        {
            RaiseGeneralProtection(source == InterruptSource.Software ? 0u : 1u);
            return false;
        }

        if (!TryReadDescriptor(targetSelector, out ulong codeDescriptor))
        {
            RaiseGeneralProtection(selectorError);
            return false;
        }

        var code = SegmentFromDescriptor(targetSelector, codeDescriptor);
        bool isCode = (code.Attributes & (Core.Accel.SegmentAttributes.CodeOrData | Core.Accel.SegmentAttributes.Executable))
            == (Core.Accel.SegmentAttributes.CodeOrData | Core.Accel.SegmentAttributes.Executable);
        if (!isCode || (code.Attributes & Core.Accel.SegmentAttributes.Long) == 0 || code.DescriptorPrivilegeLevel > CurrentPrivilegeLevel)
        {
            RaiseGeneralProtection(selectorError);
            return false;
        }

        if ((code.Attributes & Core.Accel.SegmentAttributes.Present) == 0)
        {
            RaiseException(ExceptionVector.SegmentNotPresent, selectorError);
            return false;
        }

        bool conforming = (code.Attributes & Core.Accel.SegmentAttributes.ConformingOrExpandDown) != 0;
        int newPrivilege = conforming ? CurrentPrivilegeLevel : code.DescriptorPrivilegeLevel;
        ulong oldRsp = Registers.Rsp;
        var oldSs = segments[(int)SegmentRegister.SS];
        var oldCs = segments[(int)SegmentRegister.CS];
        ulong oldFlags = Rflags;
        int oldPrivilege = CurrentPrivilegeLevel;
        ulong newRsp = oldRsp;
        bool switchStack = newPrivilege < oldPrivilege || ist != 0;
        if (switchStack)
        {
            ulong tssOffset = ist != 0 ? 36 + ((ulong)(ist - 1) * 8) : 4 + ((ulong)newPrivilege * 8);
            if (tssOffset + 7 > Tr.Limit)
            {
                RaiseException(ExceptionVector.InvalidTss, (uint)(Tr.Selector & 0xFFFC));
                return false;
            }

            if (!TryReadSystem(Tr.Base + tssOffset, out newRsp))
            {
                return false;
            }

            if (!IsCanonical(newRsp))
            {
                RaiseException(ExceptionVector.StackFault, 0);
                return false;
            }
        }

        newRsp &= ~0xFUL;
        SetPrivilegeLevel(newPrivilege);
        ulong rsp = newRsp;
        bool pushed = TryWrite(rsp -= 8, (ulong)oldSs.Selector)
            && TryWrite(rsp -= 8, oldRsp)
            && TryWrite(rsp -= 8, oldFlags)
            && TryWrite(rsp -= 8, (ulong)oldCs.Selector)
            && TryWrite(rsp -= 8, returnRip)
            && (!hasErrorCode || TryWrite(rsp -= 8, (ulong)errorCode));
        if (!pushed)
        {
            SetPrivilegeLevel(oldPrivilege);
            return false;
        }

        if (newPrivilege != oldPrivilege)
        {
            // SDM 3A §6.14.4: on a privilege change in 64-bit mode SS is loaded with a null selector of the new RPL.
            SetSegmentCache(SegmentRegister.SS, new SegmentState((ushort)newPrivilege, 0, 0, Core.Accel.SegmentAttributes.None));
        }

        MarkDescriptorAccessed(targetSelector, codeDescriptor);
        SetSegmentCache(SegmentRegister.CS, code with { Selector = (ushort)((targetSelector & 0xFFFC) | newPrivilege) });
        State->Gpr[4] = rsp;
        ulong clear = (ulong)(RflagsBits.Trap | RflagsBits.NestedTask | RflagsBits.Resume | RflagsBits.Virtual8086);
        if (type == GateTypeInterrupt32)
        {
            clear |= (ulong)RflagsBits.InterruptEnable;
        }

        Rflags = oldFlags & ~clear;
        Rip = target;
        State->StopBlock = 1;
        return true;
    }

    /// <summary>32-bit protected mode: 8-byte gates, stack switch through the 32-bit TSS on a privilege change (SDM 3A §6.12).</summary>
    private bool TryDeliverProtectedMode(int vector, bool hasErrorCode, uint errorCode, InterruptSource source, ulong returnRip)
    {
        ulong gateOffset = (ulong)vector * 8;
        if (gateOffset + 7 > Idtr.Limit)
        {
            RaiseGeneralProtection(IdtErrorCode(vector, source));
            return false;
        }

        if (!TryReadSystem(Idtr.Base + gateOffset, out ulong gate))
        {
            return false;
        }

        int type = (int)((gate >> 40) & 0xF);
        int gateDpl = (int)((gate >> 45) & 3);
        bool gate32 = type is GateTypeInterrupt32 or GateTypeTrap32;
        if (!gate32 && type is not (GateTypeInterrupt16 or GateTypeTrap16))
        {
            RaiseGeneralProtection(IdtErrorCode(vector, source));
            return false;
        }

        if (source == InterruptSource.Software && gateDpl < CurrentPrivilegeLevel)
        {
            RaiseGeneralProtection(IdtErrorCode(vector, source));
            return false;
        }

        if ((gate & (1UL << 47)) == 0)
        {
            RaiseException(ExceptionVector.SegmentNotPresent, IdtErrorCode(vector, source));
            return false;
        }

        ushort targetSelector = (ushort)(gate >> 16);
        ulong target = (gate & 0xFFFF) | ((gate >> 32) & 0xFFFF_0000);
        uint selectorError = (uint)(targetSelector & 0xFFFC) | (source == InterruptSource.Software ? 0u : 1u);
        if ((targetSelector & 0xFFFC) == 0 || !TryReadDescriptor(targetSelector, out ulong codeDescriptor))
        {
            RaiseGeneralProtection(selectorError);
            return false;
        }

        var code = SegmentFromDescriptor(targetSelector, codeDescriptor);
        if ((code.Attributes & Core.Accel.SegmentAttributes.Executable) == 0 || code.DescriptorPrivilegeLevel > CurrentPrivilegeLevel)
        {
            RaiseGeneralProtection(selectorError);
            return false;
        }

        if ((code.Attributes & Core.Accel.SegmentAttributes.Present) == 0)
        {
            RaiseException(ExceptionVector.SegmentNotPresent, selectorError);
            return false;
        }

        bool conforming = (code.Attributes & Core.Accel.SegmentAttributes.ConformingOrExpandDown) != 0;
        int newPrivilege = conforming ? CurrentPrivilegeLevel : code.DescriptorPrivilegeLevel;
        int oldPrivilege = CurrentPrivilegeLevel;
        var oldSs = segments[(int)SegmentRegister.SS];
        var oldCs = segments[(int)SegmentRegister.CS];
        ulong oldFlags = Rflags;
        ulong oldEsp = Registers.Rsp;
        int width = gate32 ? 32 : 16;
        int slot = width / 8;
        SegmentState newSs = oldSs;
        ulong newEsp = oldEsp;
        ulong newSsDescriptor = 0;
        if (newPrivilege < oldPrivilege)
        {
            ulong espOffset = 4 + ((ulong)newPrivilege * 8);
            if (espOffset + 5 > Tr.Limit || !TryReadSystem(Tr.Base + espOffset, out uint esp) || !TryReadSystem(Tr.Base + espOffset + 4, out ushort ssSelector))
            {
                if (State->ExceptionPending == 0)
                {
                    RaiseException(ExceptionVector.InvalidTss, (uint)(Tr.Selector & 0xFFFC));
                }

                return false;
            }

            if ((ssSelector & 0xFFFC) == 0 || !TryReadDescriptor(ssSelector, out newSsDescriptor))
            {
                RaiseException(ExceptionVector.InvalidTss, (uint)(ssSelector & 0xFFFC));
                return false;
            }

            newSs = SegmentFromDescriptor(ssSelector, newSsDescriptor);
            newEsp = esp;
        }

        SetPrivilegeLevel(newPrivilege);
        var savedSs = segments[(int)SegmentRegister.SS];
        if (newPrivilege < oldPrivilege)
        {
            SetSegmentCache(SegmentRegister.SS, newSs);
        }

        bool big = (segments[(int)SegmentRegister.SS].Attributes & Core.Accel.SegmentAttributes.DefaultBig) != 0;
        ulong stackMask = big ? 0xFFFF_FFFFUL : 0xFFFFUL;
        ulong sp = newEsp;
        ulong ssBase = segments[(int)SegmentRegister.SS].Base;
        bool ok = true;
        void Push(ulong value)
        {
            if (!ok)
            {
                return;
            }

            sp = (sp - (ulong)slot) & stackMask;
            ok = OutsideStackSegment(sp, slot * 8) ? RaiseStackLimitFault() : TryWriteSized((ssBase + sp) & 0xFFFF_FFFF, width, value);
        }

        if (newPrivilege < oldPrivilege)
        {
            Push(oldSs.Selector);
            Push(oldEsp);
        }

        Push(oldFlags);
        Push(oldCs.Selector);
        Push(returnRip);
        if (hasErrorCode)
        {
            Push(errorCode);
        }

        if (!ok)
        {
            SetSegmentCache(SegmentRegister.SS, savedSs);
            SetPrivilegeLevel(oldPrivilege);
            return false;
        }

        MarkDescriptorAccessed(targetSelector, codeDescriptor);
        SetSegmentCache(SegmentRegister.CS, code with { Selector = (ushort)((targetSelector & 0xFFFC) | newPrivilege) });
        State->Gpr[4] = big ? sp : (State->Gpr[4] & ~0xFFFFUL) | sp;
        ulong clear = (ulong)(RflagsBits.Trap | RflagsBits.NestedTask | RflagsBits.Resume | RflagsBits.Virtual8086);
        if (type is GateTypeInterrupt32 or GateTypeInterrupt16)
        {
            clear |= (ulong)RflagsBits.InterruptEnable;
        }

        Rflags = oldFlags & ~clear;
        Rip = target;
        State->StopBlock = 1;
        return true;
    }
}

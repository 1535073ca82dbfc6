using Iced.Intel;
using Vessel.Core.Accel;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Execution;

/// <summary>
/// IRET/IRETD/IRETQ (Intel SDM 2 IRET): real mode, protected mode at the same or an outer level, and IA-32e mode, where
/// 64-bit code always pops SS:RSP. Task returns (NT=1) and returns to virtual-8086 mode are not emulated: #GP(0).
/// Every IRET ends NMI blocking (SDM 3A §6.7.1).
/// </summary>
public static unsafe class InterruptReturn
{
    private static int reportedUnsupported;

    public static void Register(HandlerTable table)
    {
        table.Add(Code.Iretw, &Return<Width16>);
        table.Add(Code.Iretd, &Return<Width32>);
        table.Add(Code.Iretq, &Return<Width64>);
    }

    private static void Return<TWidth>(Cpu cpu, DecodedInstruction* instruction)
        where TWidth : IWidth
    {
        int bits = TWidth.Bits;
        ulong slot = (ulong)(bits / 8);
        if (!cpu.TryPeekStack(bits, 0, out ulong offset)
            || !cpu.TryPeekStack(16, slot, out ulong selectorValue)
            || !cpu.TryPeekStack(bits, 2 * slot, out ulong poppedFlags))
        {
            return;
        }

        ushort selector = (ushort)selectorValue;
        if (!cpu.ProtectedMode)
        {
            ReturnInRealMode(cpu, bits, selector, offset, poppedFlags);
            return;
        }

        ulong flags = cpu.Rflags;
        if ((flags & (ulong)(RflagsBits.NestedTask | RflagsBits.Virtual8086)) != 0)
        {
            // IA-32e mode: NT=1 is #GP(0) (SDM 2 IRET). Legacy task returns and virtual-8086 mode are not emulated.
            ReportUnsupported(cpu, "IRET with RFLAGS.NT or VM set (task return / virtual-8086)");
            cpu.RaiseGeneralProtection(0);
            return;
        }

        int cpl = cpu.CurrentPrivilegeLevel;
        if (!cpu.LongMode && cpl == 0 && (poppedFlags & (ulong)RflagsBits.Virtual8086) != 0 && bits != 16)
        {
            ReportUnsupported(cpu, "IRET to virtual-8086 mode");
            cpu.RaiseGeneralProtection(0);
            return;
        }

        if (!FarTransfers.TryCheckReturnTarget(cpu, selector, out var code, out ulong descriptor))
        {
            return;
        }

        int rpl = selector & 3;
        bool target64 = cpu.LongMode && (code.Attributes & SegmentAttributes.Long) != 0;
        bool popStack = cpu.CodeBits == 64 || rpl > cpl;
        ulong newFlags = MergeFlags(flags, poppedFlags, bits, cpl);
        if (!popStack)
        {
            if (!FarTransfers.CheckOffset(cpu, code, target64, offset))
            {
                return;
            }

            cpu.AdjustStackPointer((long)(3 * slot));
            cpu.Rflags = newFlags;
            FarTransfers.CommitCode(cpu, selector, descriptor, code, rpl, offset);
            cpu.NmiBlocked = false;
            return;
        }

        if (!cpu.TryPeekStack(bits, 3 * slot, out ulong stackPointer) || !cpu.TryPeekStack(16, 4 * slot, out ulong stackSelector))
        {
            return;
        }

        if (!SegmentLoads.TryCheckStackSegment(cpu, (ushort)stackSelector, rpl, target64, out var stack, out ulong stackDescriptor)
            || !FarTransfers.CheckOffset(cpu, code, target64, offset))
        {
            return;
        }

        cpu.Rflags = newFlags;
        FarTransfers.CommitCode(cpu, selector, descriptor, code, rpl, offset);
        FarTransfers.CommitStack(cpu, (ushort)stackSelector, stackDescriptor, stack, stackPointer);
        if (rpl > cpl)
        {
            SegmentLoads.InvalidateForOuterPrivilege(cpu, rpl);
        }

        cpu.NmiBlocked = false;
    }

    /// <summary>
    /// The RFLAGS an IRET leaves: IOPL, VIF and VIP change only at CPL 0, IF only at CPL &lt;= IOPL, as for POPF; RF is
    /// restored; VM is never set here (virtual-8086 returns are refused above). A 16-bit IRET touches the low half only.
    /// </summary>
    private static ulong MergeFlags(ulong current, ulong popped, int bits, int cpl)
    {
        ulong writable = (ulong)(RflagsBits.Arithmetic | RflagsBits.Trap | RflagsBits.Direction | RflagsBits.NestedTask
            | RflagsBits.Resume | RflagsBits.AlignmentCheck | RflagsBits.Identification);
        int iopl = (int)((current >> 12) & 3);
        if (cpl == 0)
        {
            writable |= (ulong)(RflagsBits.IoPrivilegeLevel | RflagsBits.VirtualInterrupt | RflagsBits.VirtualInterruptPending);
        }

        if (cpl <= iopl)
        {
            writable |= (ulong)RflagsBits.InterruptEnable;
        }

        if (bits == 16)
        {
            writable &= 0xFFFF;
        }

        return (current & ~writable) | (popped & writable);
    }

    /// <summary>Real mode: IP, CS, FLAGS; a 32-bit IRET keeps VM, VIF and VIP (SDM 2 IRET, "REAL-ADDRESS-MODE").</summary>
    private static void ReturnInRealMode(Cpu cpu, int bits, ushort selector, ulong offset, ulong poppedFlags)
    {
        ulong flags = cpu.Rflags;
        ulong newFlags = bits == 16
            ? (flags & ~0xFFFFUL) | (poppedFlags & 0xFFFF)
            : (poppedFlags & 0x25_7FD5UL) | (flags & 0x1A_0000UL);
        cpu.AdjustStackPointer(3 * (bits / 8));
        cpu.Rflags = newFlags;
        var cs = cpu.Segment(SegmentRegister.CS);
        cpu.SetSegmentCache(SegmentRegister.CS, cs with { Selector = selector, Base = (ulong)selector << 4 });
        cpu.Rip = bits == 16 ? offset & 0xFFFF : offset & 0xFFFF_FFFF;
        cpu.NmiBlocked = false;
        cpu.StopBlock();
    }

    private static void ReportUnsupported(Cpu cpu, string what)
    {
        if (Interlocked.Exchange(ref reportedUnsupported, 1) == 0)
        {
            cpu.Log.Warn($"{what} at RIP 0x{cpu.Rip:x} is not emulated: raising #GP(0)");
        }
    }
}

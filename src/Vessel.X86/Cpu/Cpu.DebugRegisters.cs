namespace Vessel.X86.Cpu;

/// <summary>
/// DR0-DR7 and the breakpoints they arm (Intel SDM 3B §18.2): DR7 enables, per DR0-DR3, an instruction breakpoint, a
/// data-write or data-read/write breakpoint, or (with CR4.DE) an I/O breakpoint, on an address aligned to its length.
/// While any is enabled the run loop takes its one-instruction path (Cpu.DebugStep.cs). Data breakpoints are observed
/// by keeping their pages out of the software TLB, so every access to such a page reaches the slow path, which checks
/// the access against them; no check is added to the fast path.
/// </summary>
public sealed unsafe partial class Cpu
{
    /// <summary>DR6's bits that read as one (SDM 3B §18.2.3).</summary>
    private const ulong DebugStatusFixedOnes = 0xFFFF_0FF0UL;

    /// <summary>DR6's bits software may change: B0-B3, BD, BS, BT.</summary>
    private const ulong DebugStatusWritable = 0x0000_E00FUL;

    /// <summary>DR7 bit 10 reads as one.</summary>
    private const ulong DebugControlFixedOnes = 1UL << 10;

    /// <summary>DR7.GD (bit 13): any MOV DR raises #DB (SDM 3B §18.2.4).</summary>
    private const ulong DebugControlGeneralDetect = 1UL << 13;

    private const int BreakpointCount = 4;

    private readonly ulong[] debugRegisters = [0, 0, 0, 0, 0, 0, DebugStatusFixedOnes, DebugControlFixedOnes];

    /// <summary>Enabled breakpoints by kind, one bit per DR0-DR3, recomputed when DR0-DR3, DR7 or CR4 change.</summary>
    private int instructionBreakpoints;
    private int dataBreakpoints;
    private int ioBreakpoints;

    /// <summary>The breakpoints the instruction running now has hit (data and I/O), reported when it completes.</summary>
    private DebugStatus breakpointHits;

    /// <summary>R/Wn in DR7 (SDM 3B §18.2.4): what breakpoint n watches.</summary>
    private enum BreakpointCondition
    {
        Execute = 0,
        Write = 1,
        Io = 2,
        ReadWrite = 3,
    }

    /// <summary>DR0-DR3, DR6 or DR7; DR4/DR5 must have been mapped to DR6/DR7 by the caller.</summary>
    public ulong ReadDebugRegister(int index) => debugRegisters[index];

    /// <summary>Whether DR7.GD makes MOV DR raise #DB before it runs.</summary>
    public bool GeneralDetectEnabled => (debugRegisters[7] & DebugControlGeneralDetect) != 0;

    /// <summary>MOV to DRn: DR6/DR7 bits 63:32 are reserved (#GP(0), false here); fixed bits keep their values.</summary>
    public bool TryWriteDebugRegister(int index, ulong value)
    {
        switch (index)
        {
            case 6:
                if ((value >> 32) != 0)
                {
                    return false;
                }

                debugRegisters[6] = (value & DebugStatusWritable) | DebugStatusFixedOnes;
                return true;
            case 7:
                if ((value >> 32) != 0)
                {
                    return false;
                }

                // Bits 11, 12, 14 and 15 read as zero; bit 10 as one.
                debugRegisters[7] = (value & ~0xD800UL) | DebugControlFixedOnes;
                break;
            default:
                debugRegisters[index] = CodeBits == 64 ? value : (uint)value;
                break;
        }

        UpdateBreakpoints();
        return true;
    }

    /// <summary>
    /// General detect (SDM 3B §18.2.4): a MOV DR while DR7.GD is set is a #DB fault with DR6.BD set; the processor clears
    /// GD as it enters the handler, so the handler may use the debug registers.
    /// </summary>
    public void RaiseGeneralDetect()
    {
        debugRegisters[6] = (debugRegisters[6] & ~(ulong)DebugStatus.Breakpoints) | (ulong)DebugStatus.DebugRegisterAccess;
        debugRegisters[7] &= ~DebugControlGeneralDetect;
        RaiseException(ExceptionVector.Debug);
    }

    /// <summary>
    /// Records a #DB's causes in DR6 (SDM 3B §18.2.3): B0-B3 are rewritten to say which breakpoints matched; BD, BS and
    /// BT are only ever set by the processor, software clears them.
    /// </summary>
    private void RecordDebugStatus(DebugStatus causes) =>
        debugRegisters[6] = (debugRegisters[6] & ~(ulong)DebugStatus.Breakpoints) | (ulong)causes | DebugStatusFixedOnes;

    /// <summary>Recomputes which breakpoints are armed and whether the run loop must check between instructions.</summary>
    private void UpdateBreakpoints()
    {
        int instruction = 0, data = 0, io = 0;
        ulong control = debugRegisters[7];
        bool ioEnabled = (cr4 & (ulong)ControlRegister4.DebuggingExtensions) != 0;
        for (int n = 0; n < BreakpointCount; n++)
        {
            if (((control >> (2 * n)) & 3) == 0)
            {
                continue;
            }

            switch (ConditionOf(n))
            {
                case BreakpointCondition.Execute:
                    instruction |= 1 << n;
                    break;
                case BreakpointCondition.Io:
                    // With CR4.DE clear R/W=10 is undefined (SDM 3B §18.2.4); here it never matches.
                    if (ioEnabled)
                    {
                        io |= 1 << n;
                    }

                    break;
                default:
                    data |= 1 << n;
                    break;
            }
        }

        bool flush = data != 0 || dataBreakpoints != 0;
        instructionBreakpoints = instruction;
        dataBreakpoints = data;
        ioBreakpoints = io;
        UpdateDebugArmed();
        if (flush)
        {
            // Pages that now hold a data breakpoint must leave the TLB, and those that no longer do may return to it.
            FlushTlb(includeGlobal: true);
        }
    }

    private BreakpointCondition ConditionOf(int n) => (BreakpointCondition)((debugRegisters[7] >> (16 + (4 * n))) & 3);

    /// <summary>LENn: 00 one byte, 01 two, 11 four, 10 eight (SDM 3B §18.2.5).</summary>
    private int BreakpointLength(int n) => ((debugRegisters[7] >> (18 + (4 * n))) & 3) switch
    {
        0 => 1,
        1 => 2,
        2 => 8,
        _ => 4,
    };

    /// <summary>Whether [address, address + size) overlaps breakpoint n's range; DRn's low bits are ignored by its length.</summary>
    private bool BreakpointOverlaps(int n, ulong address, int size)
    {
        ulong length = (ulong)BreakpointLength(n);
        ulong start = debugRegisters[n] & ~(length - 1);
        return address <= start + (length - 1) && start <= address + (ulong)(size - 1);
    }

    /// <summary>
    /// The instruction breakpoints at <paramref name="linear"/>: none unless an enabled one matches; then also those that
    /// match but are disabled, as B0-B3 report conditions met whether or not enabled (SDM 3B §18.2.3).
    /// </summary>
    private DebugStatus MatchInstructionBreakpoints(ulong linear)
    {
        int matched = 0;
        for (int n = 0; n < BreakpointCount; n++)
        {
            if (ConditionOf(n) == BreakpointCondition.Execute && BreakpointOverlaps(n, linear, 1))
            {
                matched |= 1 << n;
            }
        }

        return (matched & instructionBreakpoints) != 0 ? (DebugStatus)matched : DebugStatus.None;
    }

    /// <summary>Whether the 4 KiB page of <paramref name="linear"/> holds an enabled data breakpoint (kept out of the TLB).</summary>
    private bool HoldsDataBreakpoint(ulong linear)
    {
        for (int n = 0; n < BreakpointCount; n++)
        {
            if ((dataBreakpoints & (1 << n)) != 0
                && ((debugRegisters[n] & ~(ulong)(BreakpointLength(n) - 1)) >> 12) == linear >> 12)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A data access the slow path made: a write hits R/W=01 and R/W=11 breakpoints, a read only R/W=11.</summary>
    private void NoteDataAccess(ulong linear, int size, bool write)
    {
        for (int n = 0; n < BreakpointCount; n++)
        {
            if ((dataBreakpoints & (1 << n)) != 0
                && (write || ConditionOf(n) == BreakpointCondition.ReadWrite)
                && BreakpointOverlaps(n, linear, size))
            {
                breakpointHits |= (DebugStatus)(1 << n);
            }
        }
    }

    /// <summary>An IN, OUT, INS or OUTS allowed to reach <paramref name="port"/>: I/O breakpoints (CR4.DE=1) may match.</summary>
    private void NoteIoAccess(ushort port, int size)
    {
        for (int n = 0; n < BreakpointCount; n++)
        {
            if ((ioBreakpoints & (1 << n)) != 0 && BreakpointOverlaps(n, port, size))
            {
                breakpointHits |= (DebugStatus)(1 << n);
            }
        }
    }

    private void ResetDebugRegisters()
    {
        Array.Clear(debugRegisters);
        debugRegisters[6] = DebugStatusFixedOnes;
        debugRegisters[7] = DebugControlFixedOnes;
        pendingDebugTrap = DebugStatus.None;
        deferredDebugTrap = DebugStatus.None;
        breakpointHits = DebugStatus.None;
        UpdateBreakpoints();
    }
}

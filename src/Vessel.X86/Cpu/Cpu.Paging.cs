using System.Runtime.CompilerServices;
using Vessel.X86.Cpu.Paging;

namespace Vessel.X86.Cpu;

/// <summary>Linear-to-physical translation: the page walk for every paging mode, with A/D updates and permission checks.</summary>
public sealed unsafe partial class Cpu
{
    /// <summary>MAXPHYADDR as advertised in CPUID 0x80000008.</summary>
    public const int PhysicalAddressBits = 40;

    private const ulong PhysicalPageMask = ((1UL << PhysicalAddressBits) - 1) & ~0xFFFUL;
    private const ulong LongModeReservedHigh = ((1UL << 52) - 1) & ~((1UL << PhysicalAddressBits) - 1);

    /// <summary>The outcome of a successful walk: where the page is and what it allows.</summary>
    private struct PageTranslation
    {
        public ulong PhysicalAddress;
        public bool Writable;
        public bool User;
        public bool Executable;
        public bool Global;
        public bool Large;
    }

    /// <summary>
    /// Translates <paramref name="linear"/> for an access at the given privilege. On failure a #PF (or #GP for a
    /// non-canonical address) is made pending and false returned.
    /// </summary>
    private bool TryTranslate(ulong linear, AccessKind kind, bool user, out PageTranslation translation)
    {
        translation = default;
        if (SegmentLimits.IsPoisoned(linear) && CodeBits != 64)
        {
            return RaiseSegmentLimitFault(linear);
        }

        if (!PagingEnabled)
        {
            translation.PhysicalAddress = LongMode ? linear : linear & 0xFFFF_FFFF;
            translation.Writable = translation.User = translation.Executable = true;
            return true;
        }

        if (LongMode)
        {
            if (!IsCanonical(linear))
            {
                nonCanonicalDataAccess = kind != AccessKind.Fetch;
                RaiseGeneralProtection(0);
                return false;
            }

            return TryWalk64BitEntries(linear, cr3 & PhysicalPageMask, 4, kind, user, out translation);
        }

        if ((cr4 & (ulong)ControlRegister4.PhysicalAddressExtension) != 0)
        {
            // PAE paging: four PDPTEs at CR3[31:5], then 2 MiB or 4 KiB pages (SDM 3A §4.4).
            ulong* pdpte = PhysicalEntryPointer64((cr3 & 0xFFFF_FFE0) + (((linear >> 30) & 3) * 8));
            ulong directory = pdpte == null ? 0 : *pdpte;
            if ((directory & (ulong)PageTableEntryBits.Present) == 0)
            {
                return PageFault(linear, kind, user, PageFaultErrorCode.None);
            }

            return TryWalk64BitEntries(linear, directory & PhysicalPageMask, 2, kind, user, out translation);
        }
        // 32-bit paging: 4 MiB pages with CR4.PSE, else 4 KiB (SDM 3A §4.3).
        bool writeProtect = (cr0 & (ulong)ControlRegister0.WriteProtect) != 0;
        bool writable, userOk, global = false, large = false;
        ulong physical;
        linear &= 0xFFFF_FFFF;
        ulong pdeAddress = (cr3 & 0xFFFF_F000) + (((linear >> 22) & 1023) * 4);
        uint* pdePointer = PhysicalEntryPointer32(pdeAddress);
        uint pde = pdePointer == null ? 0 : *pdePointer;
        if ((pde & (uint)PageTableEntryBits.Present) == 0)
        {
            return PageFault(linear, kind, user, PageFaultErrorCode.None);
        }

        writable = (pde & (uint)PageTableEntryBits.Writable) != 0;
        userOk = (pde & (uint)PageTableEntryBits.User) != 0;
        if ((pde & (uint)PageTableEntryBits.PageSize) != 0 && (cr4 & (ulong)ControlRegister4.PageSizeExtensions) != 0)
        {
            if (!CheckRights(kind, user, writable, userOk, true, writeProtect))
            {
                return PageFault(linear, kind, user, PageFaultErrorCode.Present);
            }

            SetAccessedAndDirty32(pdePointer, pdeAddress, pde, kind == AccessKind.Write);
            physical = (pde & 0xFFC0_0000UL) | (((ulong)pde & 0x1FE000) << 19) | (linear & 0x3F_FFFF);
            global = (pde & (uint)PageTableEntryBits.Global) != 0;
            large = true;
        }
        else
        {
            SetAccessed32(pdePointer, pdeAddress, pde);
            ulong pteAddress = (pde & 0xFFFF_F000) + (((linear >> 12) & 1023) * 4);
            uint* ptePointer = PhysicalEntryPointer32(pteAddress);
            uint pte = ptePointer == null ? 0 : *ptePointer;
            if ((pte & (uint)PageTableEntryBits.Present) == 0)
            {
                return PageFault(linear, kind, user, PageFaultErrorCode.None);
            }

            writable &= (pte & (uint)PageTableEntryBits.Writable) != 0;
            userOk &= (pte & (uint)PageTableEntryBits.User) != 0;
            if (!CheckRights(kind, user, writable, userOk, true, writeProtect))
            {
                return PageFault(linear, kind, user, PageFaultErrorCode.Present);
            }

            SetAccessedAndDirty32(ptePointer, pteAddress, pte, kind == AccessKind.Write);
            physical = (pte & 0xFFFF_F000UL) | (linear & 0xFFF);
            global = (pte & (uint)PageTableEntryBits.Global) != 0;
        }

        translation.PhysicalAddress = physical;
        translation.Writable = writable || (!user && !writeProtect);
        translation.User = userOk;
        translation.Executable = true;
        translation.Global = global && (cr4 & (ulong)ControlRegister4.PageGlobalEnable) != 0;
        translation.Large = large;
        return true;
    }

    /// <summary>
    /// Walks 8-byte paging entries from <paramref name="level"/> down (4-level paging from the PML4, PAE from the page
    /// directory), accumulating rights and setting accessed/dirty bits (SDM 3A §4.4, §4.5).
    /// </summary>
    private bool TryWalk64BitEntries(ulong linear, ulong table, int level, AccessKind kind, bool user, out PageTranslation translation)
    {
        translation = default;
        bool noExecuteEnabled = (efer & (ulong)EferBits.NoExecuteEnable) != 0;
        bool writeProtect = (cr0 & (ulong)ControlRegister0.WriteProtect) != 0;
        bool longMode = LongMode;
        bool writable = true, userOk = true, executable = true;
        while (true)
        {
            int shift = 12 + (9 * (level - 1));
            ulong entryAddress = table + (((linear >> shift) & 511) * 8);
            ulong* entryPointer = PhysicalEntryPointer64(entryAddress);
            ulong entry = entryPointer == null ? 0 : Volatile.Read(ref *entryPointer);
            if ((entry & (ulong)PageTableEntryBits.Present) == 0)
            {
                return PageFault(linear, kind, user, PageFaultErrorCode.None);
            }

            bool isLeaf = level == 1 || (level <= 3 && (entry & (ulong)PageTableEntryBits.PageSize) != 0);
            bool reserved = (!noExecuteEnabled && (entry & (ulong)PageTableEntryBits.NoExecute) != 0)
                || (longMode && ((entry & LongModeReservedHigh) != 0
                    || (level == 4 && (entry & (ulong)PageTableEntryBits.PageSize) != 0)
                    || (isLeaf && level == 3 && (entry & 0x3FFF_E000UL) != 0)
                    || (isLeaf && level == 2 && (entry & 0x1F_E000UL) != 0)));
            if (reserved)
            {
                return PageFault(linear, kind, user, PageFaultErrorCode.Present | PageFaultErrorCode.ReservedBit);
            }

            writable &= (entry & (ulong)PageTableEntryBits.Writable) != 0;
            userOk &= (entry & (ulong)PageTableEntryBits.User) != 0;
            executable &= !noExecuteEnabled || (entry & (ulong)PageTableEntryBits.NoExecute) == 0;
            if (!isLeaf)
            {
                SetAccessed(entryPointer, entryAddress, entry);
                table = entry & PhysicalPageMask;
                level--;
                continue;
            }

            if (!CheckRights(kind, user, writable, userOk, executable, writeProtect))
            {
                return PageFault(linear, kind, user, PageFaultErrorCode.Present);
            }

            SetAccessedAndDirty(entryPointer, entryAddress, entry, kind == AccessKind.Write);
            ulong pageMask = (1UL << shift) - 1;
            translation.PhysicalAddress = (entry & PhysicalPageMask & ~pageMask) | (linear & pageMask);
            translation.Writable = writable || (!user && !writeProtect);
            translation.User = userOk;
            translation.Executable = executable;
            translation.Global = (entry & (ulong)PageTableEntryBits.Global) != 0 && (cr4 & (ulong)ControlRegister4.PageGlobalEnable) != 0;
            translation.Large = level > 1;
            return true;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsCanonical(ulong linear) => (ulong)(((long)linear << 16) >> 16) == linear;

    private static bool CheckRights(AccessKind kind, bool user, bool writable, bool userOk, bool executable, bool writeProtect)
    {
        if (user && !userOk)
        {
            return false;
        }

        if (kind == AccessKind.Write && !writable && (user || writeProtect))
        {
            return false;
        }

        return kind != AccessKind.Fetch || executable;
    }

    private bool PageFault(ulong linear, AccessKind kind, bool user, PageFaultErrorCode code)
    {
        if (kind == AccessKind.Write)
        {
            code |= PageFaultErrorCode.Write;
        }

        if (user)
        {
            code |= PageFaultErrorCode.User;
        }

        if (kind == AccessKind.Fetch && (efer & (ulong)EferBits.NoExecuteEnable) != 0
            && (cr4 & (ulong)ControlRegister4.PhysicalAddressExtension) != 0)
        {
            code |= PageFaultErrorCode.InstructionFetch;
        }

        State->Cr2 = linear;
        RaiseException(ExceptionVector.PageFault, (uint)code);
        return false;
    }

    private ulong* PhysicalEntryPointer64(ulong physical)
    {
        // Safety: HostPointerOrNull returns a pointer inside guest RAM or null; an 8-byte aligned entry never straddles a page.
        return (ulong*)memory.HostPointerOrNull(physical & ~7UL);
    }

    private uint* PhysicalEntryPointer32(ulong physical) => (uint*)memory.HostPointerOrNull(physical & ~3UL);

    // The walker's accessed/dirty updates are stores to guest RAM too: with the dirty log on they mark the table's page.
    private void SetAccessed(ulong* entry, ulong address, ulong value)
    {
        if ((value & (ulong)PageTableEntryBits.Accessed) == 0)
        {
            Interlocked.Or(ref *entry, (ulong)PageTableEntryBits.Accessed);
            MarkTableDirty(address);
        }
    }

    private void SetAccessedAndDirty(ulong* entry, ulong address, ulong value, bool write)
    {
        ulong wanted = (ulong)PageTableEntryBits.Accessed | (write ? (ulong)PageTableEntryBits.Dirty : 0);
        if ((value & wanted) != wanted)
        {
            Interlocked.Or(ref *entry, wanted);
            MarkTableDirty(address);
        }
    }

    private void SetAccessed32(uint* entry, ulong address, uint value)
    {
        if ((value & (uint)PageTableEntryBits.Accessed) == 0)
        {
            Interlocked.Or(ref *entry, (uint)PageTableEntryBits.Accessed);
            MarkTableDirty(address);
        }
    }

    private void SetAccessedAndDirty32(uint* entry, ulong address, uint value, bool write)
    {
        uint wanted = (uint)PageTableEntryBits.Accessed | (write ? (uint)PageTableEntryBits.Dirty : 0);
        if ((value & wanted) != wanted)
        {
            Interlocked.Or(ref *entry, wanted);
            MarkTableDirty(address);
        }
    }

    private void MarkTableDirty(ulong address)
    {
        if (dirtyLogging)
        {
            memory.MarkDirty(address);
        }
    }

    /// <summary>Translates for the debugger and tests without side effects on the TLB; false when unmapped.</summary>
    public bool TryTranslateForInspection(ulong linear, out ulong physical)
    {
        int pending = State->ExceptionPending;
        ulong cr2 = State->Cr2;
        bool ok = TryTranslate(linear, AccessKind.Read, false, out var translation);
        State->ExceptionPending = pending;
        State->Cr2 = cr2;
        physical = translation.PhysicalAddress;
        return ok;
    }

    /// <summary>The fault a poisoned address from a failed segment check stands for (see <see cref="SegmentLimits"/>).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool RaiseSegmentLimitFault(ulong linear)
    {
        RaiseException((linear >> 48) == (SegmentLimits.StackFaultAddress >> 48) ? ExceptionVector.StackFault : ExceptionVector.GeneralProtection, 0);
        return false;
    }

    /// <summary>
    /// Set when the pending #GP(0) came from a non-canonical data address: if the access went through SS it must become
    /// #SS(0) instead, which only the caller knows (the instruction's memory operand, or an implicit stack access).
    /// </summary>
    private bool nonCanonicalDataAccess;

    private void ReportNonCanonicalAccessAsStackFault()
    {
        nonCanonicalDataAccess = false;
        var s = State;
        if (s->ExceptionPending != 0 && s->ExceptionVector == (int)ExceptionVector.GeneralProtection)
        {
            s->ExceptionVector = (int)ExceptionVector.StackFault;
            s->ExceptionErrorCode = 0;
        }
    }

    /// <summary>Makes the pending non-canonical #GP of an SS-based memory operand ([RSP+...], [RBP+...], SS:) a #SS.</summary>
    private void ClassifyNonCanonicalFault(Decoding.DecodedInstruction* instruction)
    {
        if (instruction->Iced.MemorySegment == Iced.Intel.Register.SS)
        {
            ReportNonCanonicalAccessAsStackFault();
        }

        nonCanonicalDataAccess = false;
    }
}

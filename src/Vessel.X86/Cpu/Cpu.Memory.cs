using System.Runtime.CompilerServices;
using Vessel.X86.Cpu.Paging;

namespace Vessel.X86.Cpu;

/// <summary>
/// Guest memory as the CPU sees it: a software TLB maps virtual pages straight to host pointers, one table per access
/// kind and privilege, so the common access is a tag compare and a load. Misses walk the page tables; MMIO, code pages
/// (for self-modifying code), pages holding an enabled data breakpoint and page-crossing accesses always take the slow
/// path.
/// </summary>
public sealed unsafe partial class Cpu
{
    private const int TlbEntriesPerTable = 256;
    private const int TlbTablesPerPrivilege = 3;
    private const int TlbEntriesTotal = TlbEntriesPerTable * TlbTablesPerPrivilege * 2;
    private const int PageOffsetMask = 0xFFF;

    private readonly TlbEntry* tlb;
    private TlbEntry* readTlb;
    private TlbEntry* writeTlb;
    private TlbEntry* fetchTlb;
    private int largePageEntries;

    /// <summary>
    /// Bumped whenever a fetch translation this CPU cached may have changed: a TLB flush (CR0/CR3/CR4/EFER writes, state
    /// restore, debug-register changes), INVLPG and a privilege change (which selects the other TLB). Compiled blocks
    /// link straight to their successors only while it holds (Jit/Cpu.CompilingTier.cs); starts at 1 so an empty link
    /// (epoch 0) never matches; 64 bits never wrap.
    /// </summary>
    private ulong codeLinkEpoch = 1;

    private void SelectTlbForPrivilege()
    {
        codeLinkEpoch++;
        TlbEntry* privilegeBase = tlb + (CurrentPrivilegeLevel == 3 ? TlbEntriesPerTable * TlbTablesPerPrivilege : 0);
        readTlb = privilegeBase;
        writeTlb = privilegeBase + TlbEntriesPerTable;
        fetchTlb = privilegeBase + (2 * TlbEntriesPerTable);
    }

    public void FlushTlb(bool includeGlobal)
    {
        bool keepGlobal = !includeGlobal && (cr4 & (ulong)ControlRegister4.PageGlobalEnable) != 0;
        for (int i = 0; i < TlbEntriesTotal; i++)
        {
            if (!keepGlobal || !tlb[i].Global)
            {
                tlb[i].Tag = TlbEntry.Invalid;
                tlb[i].Global = false;
            }
        }

        largePageEntries = 0;
        SelectTlbForPrivilege();
    }

    /// <summary>INVLPG: a 4 KiB slot is enough unless large pages were cached, whose other slots share the mapping.</summary>
    public void InvalidatePage(ulong linear)
    {
        // The page may hold the code running now: a compiled region must not go on into another of its blocks.
        codeLinkEpoch++;
        State->StopBlock = 1;
        if (largePageEntries > 0)
        {
            FlushTlb(includeGlobal: true);
            return;
        }

        ulong page = linear >> 12;
        int slot = (int)(page & (TlbEntriesPerTable - 1));
        for (int table = 0; table < TlbTablesPerPrivilege * 2; table++)
        {
            ref var entry = ref tlb[(table * TlbEntriesPerTable) + slot];
            if (entry.Tag == page)
            {
                entry.Tag = TlbEntry.Invalid;
            }
        }
    }

    /// <summary>While set, filling a write TLB entry marks its page in guest memory's dirty log.</summary>
    private volatile bool dirtyLogging;

    /// <summary>Turns dirty logging on: write entries filled before now are dropped, so every later store is seen.</summary>
    public void StartDirtyLog()
    {
        dirtyLogging = true;
        RequestWriteTlbFlush();
    }

    /// <summary>Safe from any thread: at the next block boundary the CPU marks its write TLB's pages dirty and drops them.</summary>
    public void RequestDirtyLogSync() => RaiseEvent(PendingEvent.DirtyLogSync);

    /// <summary>
    /// Marks every page the write TLB maps dirty, then drops the entries: stores through them since the last collection
    /// reach the log, and the next store to each page refills (and marks) it again.
    /// </summary>
    private void SyncDirtyLog()
    {
        for (int i = 0; i < TlbEntriesPerTable; i++)
        {
            foreach (int table in (ReadOnlySpan<int>)[TlbEntriesPerTable, TlbEntriesPerTable * (TlbTablesPerPrivilege + 1)])
            {
                ref var entry = ref tlb[table + i];
                if (entry.Tag != TlbEntry.Invalid)
                {
                    memory.MarkDirty(entry.PhysicalPage);
                    entry.Tag = TlbEntry.Invalid;
                }
            }
        }
    }

    /// <summary>Drops write translations so the next write to a page that just became code takes the slow path.</summary>
    internal void FlushWriteTlb()
    {
        for (int i = 0; i < TlbEntriesPerTable; i++)
        {
            tlb[TlbEntriesPerTable + i].Tag = TlbEntry.Invalid;
            tlb[(TlbEntriesPerTable * (TlbTablesPerPrivilege + 1)) + i].Tag = TlbEntry.Invalid;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryRead<T>(ulong linear, out T value)
        where T : unmanaged
    {
        ulong page = linear >> 12;
        TlbEntry* entry = readTlb + (page & (TlbEntriesPerTable - 1));

        // The tag is compared with the access's last byte's page: equal only when the access stays inside the first
        // byte's page, since the entry's slot is that page's low bits and the next page's number has other low bits.
        if (entry->Tag == (linear + (ulong)sizeof(T) - 1) >> 12)
        {
            // Safety: the TLB entry maps this whole 4 KiB page to guest RAM and the access stays inside it.
            value = Unsafe.ReadUnaligned<T>((void*)(entry->Addend + (nint)linear));
            return true;
        }

        return ReadSlow(linear, out value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryWrite<T>(ulong linear, T value)
        where T : unmanaged
    {
        ulong page = linear >> 12;
        TlbEntry* entry = writeTlb + (page & (TlbEntriesPerTable - 1));
        if (entry->Tag == (linear + (ulong)sizeof(T) - 1) >> 12)
        {
            // Safety: the TLB entry maps this whole 4 KiB page to guest RAM and the access stays inside it.
            Unsafe.WriteUnaligned((void*)(entry->Addend + (nint)linear), value);
            return true;
        }

        return WriteSlow(linear, value);
    }

    /// <summary>
    /// A host pointer for a read-modify-write of <paramref name="size"/> bytes, with write rights checked.
    /// Null with <paramref name="faulted"/> false means the access is MMIO or crosses a page: use TryRead then TryWrite.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* TryGetWritablePointer(ulong linear, int size, out bool faulted)
    {
        ulong page = linear >> 12;
        TlbEntry* entry = writeTlb + (page & (TlbEntriesPerTable - 1));
        faulted = false;
        if (entry->Tag == (linear + (ulong)size - 1) >> 12)
        {
            return (byte*)(entry->Addend + (nint)linear);
        }

        return WritablePointerSlow(linear, size, out faulted);
    }

    /// <summary>
    /// A host pointer for reading <paramref name="size"/> bytes (bulk string copies), with read rights checked.
    /// Null with <paramref name="faulted"/> false means the access is MMIO or crosses a page: read element by element.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* TryGetReadablePointer(ulong linear, int size, out bool faulted)
    {
        ulong page = linear >> 12;
        TlbEntry* entry = readTlb + (page & (TlbEntriesPerTable - 1));
        faulted = false;
        if (entry->Tag == (linear + (ulong)size - 1) >> 12)
        {
            return (byte*)(entry->Addend + (nint)linear);
        }

        return ReadablePointerSlow(linear, size, out faulted);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private byte* ReadablePointerSlow(ulong linear, int size, out bool faulted)
    {
        faulted = false;
        if ((int)(linear & PageOffsetMask) + size > 4096)
        {
            return null;
        }

        if (!TryTranslatePage(linear, AccessKind.Read, out _, out byte* host))
        {
            faulted = true;
            return null;
        }

        // A data breakpoint's page is read element by element, so each access is checked against it.
        return dataBreakpoints != 0 && HoldsDataBreakpoint(linear) ? null : host;
    }

    public bool TryReadSized(ulong linear, int bits, out ulong value)
    {
        bool ok;
        switch (bits)
        {
            case 8: ok = TryRead(linear, out byte b); value = b; return ok;
            case 16: ok = TryRead(linear, out ushort w); value = w; return ok;
            case 32: ok = TryRead(linear, out uint d); value = d; return ok;
            default: return TryRead(linear, out value);
        }
    }

    public bool TryWriteSized(ulong linear, int bits, ulong value) => bits switch
    {
        8 => TryWrite(linear, (byte)value),
        16 => TryWrite(linear, (ushort)value),
        32 => TryWrite(linear, (uint)value),
        _ => TryWrite(linear, value),
    };

    private bool UserAccess => CurrentPrivilegeLevel == 3;

    /// <summary>Translates one page for <paramref name="kind"/>, filling the TLB when the page is ordinary RAM.</summary>
    private bool TryTranslatePage(ulong linear, AccessKind kind, out ulong physical, out byte* host)
    {
        host = null;
        if (!TryTranslate(linear, kind, UserAccess, out var translation))
        {
            physical = 0;
            return false;
        }

        physical = translation.PhysicalAddress;
        ulong physicalPage = physical & ~(ulong)PageOffsetMask;
        if (kind == AccessKind.Write)
        {
            codeCache.OnWrite(physicalPage, this);
        }

        byte* pageHost = memory.HostPointerOrNull(physicalPage);
        if (pageHost == null)
        {
            return true;
        }

        if (kind == AccessKind.Write && dirtyLogging)
        {
            memory.MarkDirty(physicalPage);
        }

        host = pageHost + (physical & PageOffsetMask);
        bool cacheable = (kind != AccessKind.Write || !codeCache.IsCodePage(physicalPage))
            && (dataBreakpoints == 0 || kind == AccessKind.Fetch || !HoldsDataBreakpoint(linear));
        if (cacheable)
        {
            TlbEntry* table = kind switch
            {
                AccessKind.Read => readTlb,
                AccessKind.Write => writeTlb,
                _ => fetchTlb,
            };
            ulong page = linear >> 12;
            TlbEntry* entry = table + (page & (TlbEntriesPerTable - 1));
            entry->Tag = page;
            entry->Addend = (nint)pageHost - (nint)(page << 12);
            entry->PhysicalPage = physicalPage;
            entry->Global = translation.Global;
            if (translation.Large)
            {
                largePageEntries++;
            }

            if (kind == AccessKind.Write)
            {
                // A page we may write we may also read: save the read miss that usually follows.
                TlbEntry* readEntry = readTlb + (page & (TlbEntriesPerTable - 1));
                *readEntry = *entry;
            }
        }

        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool ReadSlow<T>(ulong linear, out T value)
        where T : unmanaged
    {
        value = default;
        Span<byte> bytes = stackalloc byte[sizeof(T)];
        if (!TryReadBytes(linear, bytes, AccessKind.Read))
        {
            return false;
        }

        value = Unsafe.ReadUnaligned<T>(ref bytes[0]);
        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool WriteSlow<T>(ulong linear, T value)
        where T : unmanaged
    {
        Span<byte> bytes = stackalloc byte[sizeof(T)];
        Unsafe.WriteUnaligned(ref bytes[0], value);
        return TryWriteBytes(linear, bytes);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private byte* WritablePointerSlow(ulong linear, int size, out bool faulted)
    {
        faulted = false;
        int offset = (int)(linear & PageOffsetMask);
        if (offset + size > 4096)
        {
            // Check both pages for write now so a later split write cannot fault halfway.
            if (!TryTranslate(linear, AccessKind.Write, UserAccess, out _)
                || !TryTranslate(linear + (ulong)size - 1, AccessKind.Write, UserAccess, out _))
            {
                faulted = true;
            }

            return null;
        }

        if (!TryTranslatePage(linear, AccessKind.Write, out _, out byte* host))
        {
            faulted = true;
            return null;
        }

        return dataBreakpoints != 0 && HoldsDataBreakpoint(linear) ? null : host;
    }

    /// <summary>Reads bytes that may cross a page or touch MMIO. Both pages are translated before anything is read.</summary>
    public bool TryReadBytes(ulong linear, Span<byte> destination, AccessKind kind)
    {
        int firstLength = Math.Min(destination.Length, 4096 - (int)(linear & PageOffsetMask));
        if (!TryTranslatePage(linear, kind, out ulong firstPhysical, out byte* firstHost))
        {
            return false;
        }

        ulong secondPhysical = 0;
        byte* secondHost = null;
        if (firstLength < destination.Length && !TryTranslatePage(linear + (ulong)firstLength, kind, out secondPhysical, out secondHost))
        {
            return false;
        }

        if (dataBreakpoints != 0 && kind != AccessKind.Fetch)
        {
            NoteDataAccess(linear, destination.Length, write: false);
        }

        ReadPhysical(firstPhysical, firstHost, destination[..firstLength]);
        if (firstLength < destination.Length)
        {
            ReadPhysical(secondPhysical, secondHost, destination[firstLength..]);
        }

        return true;
    }

    public bool TryWriteBytes(ulong linear, ReadOnlySpan<byte> source)
    {
        int firstLength = Math.Min(source.Length, 4096 - (int)(linear & PageOffsetMask));
        if (!TryTranslatePage(linear, AccessKind.Write, out ulong firstPhysical, out byte* firstHost))
        {
            return false;
        }

        ulong secondPhysical = 0;
        byte* secondHost = null;
        if (firstLength < source.Length && !TryTranslatePage(linear + (ulong)firstLength, AccessKind.Write, out secondPhysical, out secondHost))
        {
            return false;
        }

        if (dataBreakpoints != 0)
        {
            NoteDataAccess(linear, source.Length, write: true);
        }

        WritePhysical(firstPhysical, firstHost, source[..firstLength]);
        if (firstLength < source.Length)
        {
            WritePhysical(secondPhysical, secondHost, source[firstLength..]);
        }

        return true;
    }

    private void ReadPhysical(ulong physical, byte* host, Span<byte> destination)
    {
        if (host != null)
        {
            // Safety: host came from a translation of this page and destination stays within the page.
            new ReadOnlySpan<byte>(host, destination.Length).CopyTo(destination);
        }
        else
        {
            io.MmioRead(physical, destination);
        }
    }

    private void WritePhysical(ulong physical, byte* host, ReadOnlySpan<byte> source)
    {
        if (host != null)
        {
            // Safety: host came from a translation of this page and source stays within the page.
            source.CopyTo(new Span<byte>(host, source.Length));
        }
        else
        {
            io.MmioWrite(physical, source);
        }
    }

    /// <summary>
    /// Reads a system structure (GDT, IDT, TSS) at supervisor privilege whatever the CPL, as the CPU's implicit accesses do.
    /// </summary>
    public bool TryReadSystem<T>(ulong linear, out T value)
        where T : unmanaged
    {
        int saved = CurrentPrivilegeLevel;
        SetPrivilegeLevel(0);
        bool ok = TryRead(linear, out value);
        SetPrivilegeLevel(saved);
        return ok;
    }

    public bool TryWriteSystem<T>(ulong linear, T value)
        where T : unmanaged
    {
        int saved = CurrentPrivilegeLevel;
        SetPrivilegeLevel(0);
        bool ok = TryWrite(linear, value);
        SetPrivilegeLevel(saved);
        return ok;
    }

    /// <summary>Translates an instruction fetch to its physical address and host pointer (null for MMIO).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryTranslateFetch(ulong linear, out ulong physical, out byte* host)
    {
        ulong page = linear >> 12;
        TlbEntry* entry = fetchTlb + (page & (TlbEntriesPerTable - 1));
        if (entry->Tag == page)
        {
            physical = entry->PhysicalPage | (linear & PageOffsetMask);
            host = (byte*)(entry->Addend + (nint)linear);
            return true;
        }

        return TryTranslatePage(linear, AccessKind.Fetch, out physical, out host);
    }
}

using System.Buffers.Binary;
using Vessel.Boot.Layout;
using Vessel.Core.Memory;

namespace Vessel.Boot.Cpu;

/// <summary>
/// Boot page tables for the Linux 64-bit entry, as Firecracker builds them (regs.rs setup_page_tables): one PML4 entry, one PDPT entry
/// and a page directory of 512 2 MiB pages identity-mapping guest-physical [0, 1 GiB). boot.rst only requires the kernel
/// (up to init_size), the zero page and the command line to be identity-mapped; the kernel builds its own tables at once.
/// </summary>
public static class IdentityPageTables
{
    /// <summary>Bytes mapped: 512 entries of 2 MiB.</summary>
    public const ulong MappedSize = EntriesPerTable * LargePageSize;

    /// <summary>Entries in each paging structure (Intel SDM 3A §4.5: 4 KiB tables of 8-byte entries).</summary>
    public const int EntriesPerTable = 512;

    public const ulong LargePageSize = 2UL << 20;

    private const int EntrySize = sizeof(ulong);

    private const PageTableEntryFlags TableEntry = PageTableEntryFlags.Present | PageTableEntryFlags.ReadWrite;

    /// <summary>Writes PML4, PDPT and PD and returns the value for CR3.</summary>
    public static ulong Write(GuestMemory memory)
    {
        Span<byte> table = stackalloc byte[EntriesPerTable * EntrySize];

        table.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(table, BootLayout.PdptStart | (ulong)TableEntry);
        GuestRam.Write(memory, BootLayout.Pml4Start, table, "The boot PML4");

        table.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(table, BootLayout.PageDirectoryStart | (ulong)TableEntry);
        GuestRam.Write(memory, BootLayout.PdptStart, table, "The boot page-directory-pointer table");

        for (int index = 0; index < EntriesPerTable; index++)
        {
            ulong entry = ((ulong)index * LargePageSize) | (ulong)(TableEntry | PageTableEntryFlags.PageSize);
            BinaryPrimitives.WriteUInt64LittleEndian(table[(index * EntrySize)..], entry);
        }

        GuestRam.Write(memory, BootLayout.PageDirectoryStart, table, "The boot page directory");
        return BootLayout.Pml4Start;
    }
}

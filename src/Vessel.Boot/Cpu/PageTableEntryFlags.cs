namespace Vessel.Boot.Cpu;

/// <summary>Paging-structure entry bits used by the boot page tables (Intel SDM 3A §4.5, tables 4-15 to 4-18).</summary>
[Flags]
public enum PageTableEntryFlags : ulong
{
    /// <summary>P: the entry is present.</summary>
    Present = 1UL << 0,

    /// <summary>R/W: writes allowed.</summary>
    ReadWrite = 1UL << 1,

    /// <summary>PS: in a page-directory entry, maps a 2 MiB page instead of pointing at a page table.</summary>
    PageSize = 1UL << 7,
}

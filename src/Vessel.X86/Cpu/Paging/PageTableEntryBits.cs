namespace Vessel.X86.Cpu.Paging;

/// <summary>Paging-structure entry bits shared by every level (Intel SDM 3A §4.5, Tables 4-15 to 4-20).</summary>
[Flags]
public enum PageTableEntryBits : ulong
{
    Present = 1 << 0,
    Writable = 1 << 1,
    User = 1 << 2,
    WriteThrough = 1 << 3,
    CacheDisable = 1 << 4,
    Accessed = 1 << 5,
    Dirty = 1 << 6,
    PageSize = 1 << 7,
    Global = 1 << 8,
    NoExecute = 1UL << 63,
}

namespace Vessel.Boot.Elf;

/// <summary>p_type values the loader acts on (System V ABI, "Program Header").</summary>
public enum ElfProgramHeaderType : uint
{
    /// <summary>PT_NULL: unused entry.</summary>
    Null = 0,

    /// <summary>PT_LOAD: a segment copied into memory.</summary>
    Load = 1,

    /// <summary>PT_NOTE: auxiliary information (Linux's Xen PVH entry note lives here).</summary>
    Note = 4,
}

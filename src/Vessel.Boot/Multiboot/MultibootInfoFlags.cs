namespace Vessel.Boot.Multiboot;

/// <summary>Which fields of the multiboot information structure are valid (Multiboot Specification 0.6.96 §3.3).</summary>
[Flags]
public enum MultibootInfoFlags : uint
{
    None = 0,

    /// <summary>Bit 0: mem_lower and mem_upper.</summary>
    Memory = 1 << 0,

    /// <summary>Bit 2: cmdline.</summary>
    CommandLine = 1 << 2,

    /// <summary>Bit 3: mods_count and mods_addr.</summary>
    Modules = 1 << 3,

    /// <summary>Bit 6: mmap_length and mmap_addr.</summary>
    MemoryMap = 1 << 6,

    /// <summary>Bit 9: boot_loader_name.</summary>
    BootLoaderName = 1 << 9,
}

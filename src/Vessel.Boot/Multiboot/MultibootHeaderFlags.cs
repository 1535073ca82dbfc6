namespace Vessel.Boot.Multiboot;

/// <summary>Multiboot header flags (Multiboot Specification 0.6.96 §3.1.2).</summary>
[Flags]
public enum MultibootHeaderFlags : uint
{
    None = 0,

    /// <summary>Bit 0: align boot modules on 4 KiB page boundaries.</summary>
    PageAlignModules = 1 << 0,

    /// <summary>Bit 1: mem_* (and mmap_*) must be provided in the information structure.</summary>
    MemoryInformation = 1 << 1,

    /// <summary>Bit 2: video mode table information must be provided.</summary>
    VideoMode = 1 << 2,

    /// <summary>Bit 16: the header's address fields are valid and replace the executable's own load information (the a.out kludge).</summary>
    AddressFields = 1 << 16,

    /// <summary>Bits 0-15 are requirements a boot loader must refuse when it does not understand them.</summary>
    RequirementMask = 0xFFFF,
}

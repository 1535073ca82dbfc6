namespace Vessel.Boot.Layout;

/// <summary>Address range types of the BIOS E820 memory map (ACPI 6.5 §15.1, Linux arch/x86/include/uapi/asm/e820.h); multiboot's memory map uses the same values.</summary>
public enum E820Type : uint
{
    /// <summary>E820_TYPE_RAM: usable RAM.</summary>
    Ram = 1,

    /// <summary>E820_TYPE_RESERVED: not to be used by the OS.</summary>
    Reserved = 2,

    /// <summary>E820_TYPE_ACPI: ACPI tables, reclaimable after they are read.</summary>
    Acpi = 3,

    /// <summary>E820_TYPE_NVS: ACPI non-volatile storage.</summary>
    Nvs = 4,

    /// <summary>E820_TYPE_UNUSABLE: RAM with errors.</summary>
    Unusable = 5,
}

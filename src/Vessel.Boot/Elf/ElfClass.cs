namespace Vessel.Boot.Elf;

/// <summary>EI_CLASS, e_ident[4] (System V ABI, "ELF Identification").</summary>
public enum ElfClass : byte
{
    /// <summary>ELFCLASS32.</summary>
    Elf32 = 1,

    /// <summary>ELFCLASS64.</summary>
    Elf64 = 2,
}

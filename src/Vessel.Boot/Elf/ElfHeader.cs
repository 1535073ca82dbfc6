namespace Vessel.Boot.Elf;

/// <summary>The fields of Elf32_Ehdr / Elf64_Ehdr the loader uses, widened to 64 bits.</summary>
public readonly record struct ElfHeader(
    ElfClass Class,
    ushort Type,
    ElfMachine Machine,
    ulong Entry,
    ulong ProgramHeaderOffset,
    ushort ProgramHeaderEntrySize,
    ushort ProgramHeaderCount);

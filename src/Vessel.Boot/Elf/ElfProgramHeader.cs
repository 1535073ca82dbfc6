namespace Vessel.Boot.Elf;

/// <summary>The fields of Elf32_Phdr / Elf64_Phdr the loader uses, widened to 64 bits; <see cref="Index"/> names it in errors.</summary>
public readonly record struct ElfProgramHeader(
    int Index,
    ElfProgramHeaderType Type,
    ulong Offset,
    ulong VirtualAddress,
    ulong PhysicalAddress,
    ulong FileSize,
    ulong MemorySize);

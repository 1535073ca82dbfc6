namespace Vessel.Boot.Elf;

/// <summary>What <see cref="ElfLoader"/> put in guest memory.</summary>
/// <param name="Class">ELF32 or ELF64.</param>
/// <param name="Entry">Guest-physical entry point.</param>
/// <param name="Start">Lowest guest-physical address of any loaded segment.</param>
/// <param name="End">First guest-physical address past every loaded segment (including its zero-filled tail).</param>
public readonly record struct ElfLoadResult(ElfClass Class, ulong Entry, ulong Start, ulong End);

using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Jit;

/// <summary>A block of a compiled region and its first byte's offset from the region's base.</summary>
public readonly record struct RegionMember(DecodedBlock Block, uint Offset);

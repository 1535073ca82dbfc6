namespace Vessel.Testing.Images;

/// <summary>One PT_LOAD segment for <see cref="ElfBuilder"/>: contents go to <see cref="PhysicalAddress"/>, zero-filled up to <see cref="MemorySize"/>.</summary>
public sealed record ElfSegment(ulong PhysicalAddress, byte[] Contents, ulong MemorySize, ulong? VirtualAddress = null, uint Type = 1);

namespace Vessel.Boot.Multiboot;

/// <summary>A boot module for a multiboot kernel: its bytes and the string the info structure carries for it.</summary>
public sealed record MultibootModule(ReadOnlyMemory<byte> Data, string CommandLine);

namespace Vessel.X86.Tests.Fpu;

/// <summary>What the memory operand of an x87 differential test holds.</summary>
public enum X87MemoryKind
{
    None,
    Single,
    Double,
    Integer,
    Extended,
    Bcd,
}

namespace Vessel.X86.Tests.Sse;

/// <summary>What the XMM inputs of a differential test hold.</summary>
public enum OperandKind
{
    Single,
    Double,
    Integer,
}

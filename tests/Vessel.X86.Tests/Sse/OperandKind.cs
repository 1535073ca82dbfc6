namespace Vessel.X86.Tests.Sse;

/// <summary>What the XMM inputs of a differential test hold.</summary>
public enum OperandKind
{
    Single,
    Double,
    Integer,

    /// <summary>Bytes from a small alphabet with zeros, and short explicit lengths in RAX and RDX (string compares).</summary>
    Text,
}

using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>struct kvm_segment: a segment register's selector and hidden descriptor cache, one byte per attribute.</summary>
[StructLayout(LayoutKind.Sequential, Size = 24)]
internal struct KvmSegment
{
    public ulong Base;

    /// <summary>The limit in bytes (already scaled by G).</summary>
    public uint Limit;
    public ushort Selector;

    /// <summary>The 4-bit descriptor type.</summary>
    public byte Type;
    public byte Present;
    public byte Dpl;

    /// <summary>D/B.</summary>
    public byte Db;

    /// <summary>S: code or data rather than system.</summary>
    public byte S;

    /// <summary>L: 64-bit code.</summary>
    public byte L;

    /// <summary>G: granularity.</summary>
    public byte G;
    public byte Avl;

    /// <summary>VMX's "segment unusable" bit: a null selector loaded in protected mode.</summary>
    public byte Unusable;
    public byte Padding;
}

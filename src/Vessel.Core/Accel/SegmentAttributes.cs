namespace Vessel.Core.Accel;

/// <summary>
/// Descriptor attribute bits in the packed "access rights" layout (bits 40-47 and 52-55 of a descriptor, shifted down to 0-7 and 12-15),
/// as VMX and KVM's kvm_segment both unpack them.
/// </summary>
[Flags]
public enum SegmentAttributes : ushort
{
    None = 0,

    /// <summary>Type bit 0: accessed.</summary>
    Accessed = 1 << 0,

    /// <summary>Type bit 1: readable (code) or writable (data).</summary>
    ReadableOrWritable = 1 << 1,

    /// <summary>Type bit 2: conforming (code) or expand-down (data).</summary>
    ConformingOrExpandDown = 1 << 2,

    /// <summary>Type bit 3: code segment.</summary>
    Executable = 1 << 3,

    /// <summary>S: code or data (1) rather than system (0).</summary>
    CodeOrData = 1 << 4,

    DplMask = 3 << 5,

    /// <summary>P: present.</summary>
    Present = 1 << 7,

    /// <summary>AVL: available to software.</summary>
    Available = 1 << 12,

    /// <summary>L: 64-bit code segment.</summary>
    Long = 1 << 13,

    /// <summary>D/B: 32-bit default operand size / big stack.</summary>
    DefaultBig = 1 << 14,

    /// <summary>G: limit in 4 KiB units.</summary>
    Granularity = 1 << 15,
}

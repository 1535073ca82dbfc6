namespace Vessel.Core.Accel;

/// <summary>A segment register as the CPU caches it: selector and the descriptor fields loaded from it.</summary>
public record struct SegmentState(ushort Selector, ulong Base, uint Limit, SegmentAttributes Attributes)
{
    /// <summary>A flat 64-bit code segment (L=1), as the Linux 64-bit boot protocol expects in CS.</summary>
    public static SegmentState FlatCode64(ushort selector) =>
        new(selector, 0, 0xFFFF_FFFF, SegmentAttributes.Present | SegmentAttributes.CodeOrData | SegmentAttributes.Executable
            | SegmentAttributes.ReadableOrWritable | SegmentAttributes.Accessed | SegmentAttributes.Long | SegmentAttributes.Granularity);

    /// <summary>A flat 32-bit code segment (D=1), as multiboot expects in CS.</summary>
    public static SegmentState FlatCode32(ushort selector) =>
        new(selector, 0, 0xFFFF_FFFF, SegmentAttributes.Present | SegmentAttributes.CodeOrData | SegmentAttributes.Executable
            | SegmentAttributes.ReadableOrWritable | SegmentAttributes.Accessed | SegmentAttributes.DefaultBig | SegmentAttributes.Granularity);

    /// <summary>A flat writable data segment.</summary>
    public static SegmentState FlatData(ushort selector) =>
        new(selector, 0, 0xFFFF_FFFF, SegmentAttributes.Present | SegmentAttributes.CodeOrData
            | SegmentAttributes.ReadableOrWritable | SegmentAttributes.Accessed | SegmentAttributes.DefaultBig | SegmentAttributes.Granularity);

    /// <summary>A real-mode segment: base = selector * 16, 64 KiB limit.</summary>
    public static SegmentState RealMode(ushort selector, bool code = false) =>
        new(selector, (ulong)selector << 4, 0xFFFF, SegmentAttributes.Present | SegmentAttributes.CodeOrData
            | SegmentAttributes.ReadableOrWritable | SegmentAttributes.Accessed | (code ? SegmentAttributes.Executable : 0));

    /// <summary>A busy 64-bit TSS, what LTR leaves in TR.</summary>
    public static SegmentState BusyTss(ushort selector, ulong tssBase, uint limit) =>
        new(selector, tssBase, limit, SegmentAttributes.Present | (SegmentAttributes)11);

    public readonly int DescriptorPrivilegeLevel => ((int)Attributes >> 5) & 3;
}

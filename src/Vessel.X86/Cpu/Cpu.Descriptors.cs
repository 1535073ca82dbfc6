using Vessel.Core.Accel;

namespace Vessel.X86.Cpu;

/// <summary>Segment descriptors: reading them from the GDT/LDT and unpacking them into segment caches (Intel SDM 3A §3.4.5).</summary>
public sealed unsafe partial class Cpu
{
    private const ushort SelectorTableIndicator = 1 << 2;

    /// <summary>Reads the 8-byte descriptor a selector names; false when it lies outside the table (caller raises #GP(selector)).</summary>
    public bool TryReadDescriptor(ushort selector, out ulong descriptor)
    {
        descriptor = 0;
        bool local = (selector & SelectorTableIndicator) != 0;
        ulong tableBase = local ? Ldtr.Base : Gdtr.Base;
        ulong tableLimit = local ? Ldtr.Limit : Gdtr.Limit;
        ulong offset = (ulong)(selector & ~7);
        if (offset + 7 > tableLimit)
        {
            return false;
        }

        return TryReadSystem(tableBase + offset, out descriptor);
    }

    /// <summary>The upper half of a 16-byte system descriptor (long-mode TSS, LDT, call gate).</summary>
    public bool TryReadDescriptorHigh(ushort selector, out ulong high)
    {
        high = 0;
        ulong offset = (ulong)(selector & ~7) + 8;
        if (offset + 7 > Gdtr.Limit)
        {
            return false;
        }

        return TryReadSystem(Gdtr.Base + offset, out high);
    }

    public static SegmentState SegmentFromDescriptor(ushort selector, ulong descriptor)
    {
        ulong segmentBase = ((descriptor >> 16) & 0xFF_FFFF) | (((descriptor >> 56) & 0xFF) << 24);
        uint limit = (uint)((descriptor & 0xFFFF) | (((descriptor >> 48) & 0xF) << 16));
        var attributes = (SegmentAttributes)((descriptor >> 40) & 0xF0FF);
        if ((attributes & SegmentAttributes.Granularity) != 0)
        {
            limit = (limit << 12) | 0xFFF;
        }

        return new SegmentState(selector, segmentBase, limit, attributes);
    }

    /// <summary>Sets the accessed bit of a code/data descriptor in memory, as a segment load does.</summary>
    public void MarkDescriptorAccessed(ushort selector, ulong descriptor)
    {
        const ulong accessedBit = 1UL << 40;
        if ((descriptor & accessedBit) != 0)
        {
            return;
        }

        bool local = (selector & SelectorTableIndicator) != 0;
        ulong tableBase = local ? Ldtr.Base : Gdtr.Base;
        TryWriteSystem(tableBase + (ulong)(selector & ~7), descriptor | accessedBit);
    }
}

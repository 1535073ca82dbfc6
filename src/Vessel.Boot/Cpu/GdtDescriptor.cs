using Vessel.Core.Accel;

namespace Vessel.Boot.Cpu;

/// <summary>Encodes segment descriptors (Intel SDM 3A §3.4.5) from the same <see cref="SegmentState"/> the vCPU caches, so the GDT in memory and the hidden registers agree.</summary>
public static class GdtDescriptor
{
    /// <summary>Bytes of a code, data or 32-bit system descriptor.</summary>
    public const int Size = 8;

    /// <summary>Bytes of a 64-bit TSS or LDT descriptor (Intel SDM 3A §8.2.3): the base's upper 32 bits take a second slot.</summary>
    public const int SystemSize64 = 16;

    private const int PageGranularLimitShift = 12;
    private const uint LimitLowMask = 0xFFFF;
    private const uint LimitHighMask = 0xF;
    private const int AccessByteShift = 40;
    private const int LimitHighShift = 48;
    private const int FlagsNibbleShift = 52;
    private const int BaseHighByteShift = 56;
    private const ushort AccessByteMask = 0x00FF;
    private const ushort FlagsNibbleMask = 0xF000;
    private const int FlagsNibbleSourceShift = 12;
    private const ulong BaseLowMask = 0xFF_FFFF;
    private const int BaseLowShift = 16;
    private const int BaseHighByteSourceShift = 24;
    private const ulong ByteMask = 0xFF;
    private const int LimitHighSourceShift = 16;
    private const int UpperHalfShift = 32;

    /// <summary>The 8-byte descriptor for a segment; a 64-bit system descriptor's second half comes from <see cref="UpperHalf"/>.</summary>
    public static ulong Encode(SegmentState segment)
    {
        var attributes = (ushort)segment.Attributes;
        uint limit = (segment.Attributes & SegmentAttributes.Granularity) != 0
            ? segment.Limit >> PageGranularLimitShift
            : segment.Limit;
        ulong baseAddress = segment.Base;
        return (limit & LimitLowMask)
            | ((baseAddress & BaseLowMask) << BaseLowShift)
            | ((ulong)(attributes & AccessByteMask) << AccessByteShift)
            | ((ulong)((limit >> LimitHighSourceShift) & LimitHighMask) << LimitHighShift)
            | ((ulong)((attributes & FlagsNibbleMask) >> FlagsNibbleSourceShift) << FlagsNibbleShift)
            | (((baseAddress >> BaseHighByteSourceShift) & ByteMask) << BaseHighByteShift);
    }

    /// <summary>The second 8 bytes of a 64-bit system descriptor: base bits 63:32.</summary>
    public static ulong UpperHalf(SegmentState segment) => segment.Base >> UpperHalfShift;
}

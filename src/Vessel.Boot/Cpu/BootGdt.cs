using System.Buffers.Binary;
using Vessel.Boot.Layout;
using Vessel.Core.Accel;
using Vessel.Core.Memory;

namespace Vessel.Boot.Cpu;

/// <summary>
/// The boot GDT at <see cref="BootLayout.GdtStart"/>: null, unused, code at <see cref="CodeSelector"/>, data at <see cref="DataSelector"/>, TSS at <see cref="TssSelector"/>.
/// boot.rst ("64-bit BOOT PROTOCOL" and "32-bit BOOT PROTOCOL") requires __BOOT_CS = 0x10 and __BOOT_DS = 0x18; Firecracker puts code at 0x08
/// and data at 0x10, which works only because Linux reloads its own GDT at once, so we follow the document.
/// Multiboot leaves the selectors open and gets the same layout with a 32-bit code segment.
/// </summary>
public static class BootGdt
{
    /// <summary>__BOOT_CS (boot.rst).</summary>
    public const ushort CodeSelector = 0x10;

    /// <summary>__BOOT_DS (boot.rst).</summary>
    public const ushort DataSelector = 0x18;

    /// <summary>A TSS so TR holds a valid busy TSS, as VMX entry requires (Intel SDM 3C §27.3.1.2); the kernel loads its own before using it.</summary>
    public const ushort TssSelector = 0x20;

    /// <summary>Size of the TSS the descriptor describes: the 104-byte TSS of Intel SDM 3A §8.7 (64-bit) and §8.2.1 (32-bit).</summary>
    public const uint TssLimit = 0x67;

    /// <summary>Busy TSS type (Intel SDM 3A table 3-2: 64-bit busy TSS in IA-32e mode, 32-bit busy TSS otherwise).</summary>
    private const SegmentAttributes BusyTssType = SegmentAttributes.Accessed | SegmentAttributes.ReadableOrWritable | SegmentAttributes.Executable;

    /// <summary>The LDTR a vCPU has after RESET (Intel SDM 3A §9.1.1, table 9-1): selector 0, LDT type, present.</summary>
    private const SegmentAttributes LdtType = SegmentAttributes.ReadableOrWritable;

    private const uint ResetLdtLimit = 0xFFFF;

    /// <summary>Writes the GDT for a 64-bit (Linux) or 32-bit (multiboot) entry and returns the segment state that matches it.</summary>
    public static BootSegments Write(GuestMemory memory, bool longMode)
    {
        var code = longMode ? SegmentState.FlatCode64(CodeSelector) : SegmentState.FlatCode32(CodeSelector);
        var data = SegmentState.FlatData(DataSelector);
        var tss = new SegmentState(TssSelector, 0, TssLimit, SegmentAttributes.Present | BusyTssType);

        int tssSize = longMode ? GdtDescriptor.SystemSize64 : GdtDescriptor.Size;
        int tableSize = TssSelector + tssSize;
        Span<byte> table = stackalloc byte[tableSize];
        table.Clear();
        WriteQuadword(table[CodeSelector..], GdtDescriptor.Encode(code));
        WriteQuadword(table[DataSelector..], GdtDescriptor.Encode(data));
        WriteQuadword(table[TssSelector..], GdtDescriptor.Encode(tss));
        if (longMode)
        {
            WriteQuadword(table[(TssSelector + GdtDescriptor.Size)..], GdtDescriptor.UpperHalf(tss));
        }

        GuestRam.Write(memory, BootLayout.GdtStart, table, "The boot GDT");
        return new BootSegments(
            code,
            data,
            tss,
            new SegmentState(0, 0, ResetLdtLimit, SegmentAttributes.Present | LdtType),
            new DescriptorTableState(BootLayout.GdtStart, (ushort)(tableSize - 1)));
    }

    private static void WriteQuadword(Span<byte> destination, ulong value) =>
        BinaryPrimitives.WriteUInt64LittleEndian(destination, value);
}

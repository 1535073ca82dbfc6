using System.Buffers.Binary;
using Vessel.Core.Memory;

namespace Vessel.Boot.Bios;

/// <summary>
/// The real-mode interrupt vector table a PC BIOS leaves at address 0, reduced to what a guest without a BIOS in front of it
/// can count on: every vector points at a handler in the BIOS segment (F000h) that returns, and the hardware-interrupt
/// vectors (08h-0Fh, 70h-77h, where <c>DualPic.InitializeAsFirmware</c> puts IRQ 0-15) acknowledge the 8259s first, so a
/// timer tick or a stray IRQ while real-mode code waits in HLT returns to it instead of jumping through a zeroed vector.
/// </summary>
public static class RealModeInterruptVectors
{
    public const ulong TableAddress = 0;
    public const int VectorCount = 256;

    /// <summary>The handlers live at the top of the BIOS area, F000:FF00 (physical 0xFFF00), clear of the ACPI tables at 0xE0000.</summary>
    public const ushort HandlerSegment = 0xF000;
    public const ushort HandlerOffset = 0xFF00;

    private const int MasterIrqVectorBase = 0x08;
    private const int SlaveIrqVectorBase = 0x70;

    // iret
    private static readonly byte[] ReturnHandler = [0xCF];

    // push ax; mov al, 20h; out 20h, al; pop ax; iret  (non-specific EOI to the master)
    private static readonly byte[] MasterIrqHandler = [0x50, 0xB0, 0x20, 0xE6, 0x20, 0x58, 0xCF];

    // push ax; mov al, 20h; out 0A0h, al; out 20h, al; pop ax; iret  (EOI to the slave, then to the master's cascade input)
    private static readonly byte[] SlaveIrqHandler = [0x50, 0xB0, 0x20, 0xE6, 0xA0, 0xE6, 0x20, 0x58, 0xCF];

    public static void Write(GuestMemory memory)
    {
        ushort returnOffset = HandlerOffset;
        ushort masterOffset = (ushort)(returnOffset + ReturnHandler.Length);
        ushort slaveOffset = (ushort)(masterOffset + MasterIrqHandler.Length);
        ulong handlers = ((ulong)HandlerSegment << 4) + HandlerOffset;
        GuestRam.Write(memory, handlers, [.. ReturnHandler, .. MasterIrqHandler, .. SlaveIrqHandler], "The BIOS interrupt handlers");

        var table = new byte[VectorCount * 4];
        for (int vector = 0; vector < VectorCount; vector++)
        {
            ushort offset = vector switch
            {
                >= MasterIrqVectorBase and < MasterIrqVectorBase + 8 => masterOffset,
                >= SlaveIrqVectorBase and < SlaveIrqVectorBase + 8 => slaveOffset,
                _ => returnOffset,
            };
            BinaryPrimitives.WriteUInt16LittleEndian(table.AsSpan(vector * 4), offset);
            BinaryPrimitives.WriteUInt16LittleEndian(table.AsSpan((vector * 4) + 2), HandlerSegment);
        }

        GuestRam.Write(memory, TableAddress, table, "The real-mode interrupt vector table");
    }
}

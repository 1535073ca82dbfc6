using System.Buffers.Binary;

namespace Vessel.Kvm.Boot;

/// <summary>
/// Programs the local APIC's LINT0/LINT1 entries as firmware does for a PC (MP spec 1.4 §3.6.2, virtual wire mode):
/// LINT0 passes the 8259 PIC's interrupts through as ExtINT, LINT1 carries NMI.
/// </summary>
internal static class LocalApicPins
{
    /// <summary>LVT LINT0 register offset in the APIC page (Intel SDM 3A §11.5.1).</summary>
    public const int LvtLint0Offset = 0x350;

    /// <summary>LVT LINT1 register offset.</summary>
    public const int LvtLint1Offset = 0x360;

    /// <summary>Delivery mode field, bits 8-10 of an LVT entry.</summary>
    public const uint DeliveryModeMask = 0x700;

    public const uint DeliveryModeNmi = 0b100 << 8;

    public const uint DeliveryModeExtInt = 0b111 << 8;

    /// <summary>Sets the delivery modes in a KVM_GET_LAPIC register page, leaving every other bit as it was.</summary>
    public static void ProgramVirtualWire(Span<byte> apicRegisters)
    {
        SetDeliveryMode(apicRegisters, LvtLint0Offset, DeliveryModeExtInt);
        SetDeliveryMode(apicRegisters, LvtLint1Offset, DeliveryModeNmi);
    }

    private static void SetDeliveryMode(Span<byte> apicRegisters, int offset, uint mode)
    {
        Span<byte> register = apicRegisters.Slice(offset, sizeof(uint));
        uint value = BinaryPrimitives.ReadUInt32LittleEndian(register);
        BinaryPrimitives.WriteUInt32LittleEndian(register, (value & ~DeliveryModeMask) | mode);
    }
}

using System.Buffers.Binary;
using Vessel.Kvm.Boot;

namespace Vessel.Kvm.Tests.Boot;

public sealed class LocalApicPinsTests
{
    [Fact]
    public void Virtual_wire_sets_lint0_to_extint_and_lint1_to_nmi_keeping_other_bits()
    {
        var registers = new byte[0x400];
        BinaryPrimitives.WriteUInt32LittleEndian(registers.AsSpan(0x350), 0x0001_0000);
        BinaryPrimitives.WriteUInt32LittleEndian(registers.AsSpan(0x360), 0x0001_0200);

        LocalApicPins.ProgramVirtualWire(registers);

        Assert.Equal(0x0001_0700u, BinaryPrimitives.ReadUInt32LittleEndian(registers.AsSpan(0x350)));
        Assert.Equal(0x0001_0400u, BinaryPrimitives.ReadUInt32LittleEndian(registers.AsSpan(0x360)));
    }
}

using Vessel.Boot.Acpi;

namespace Vessel.Boot.Tests.Acpi;

public sealed class AmlWriterTests
{
    [Theory]
    [InlineData(0, new byte[] { 0x01 })]
    [InlineData(62, new byte[] { 0x3F })]
    [InlineData(63, new byte[] { 0x41, 0x04 })]
    [InlineData(0xFFD, new byte[] { 0x4F, 0xFF })]
    [InlineData(0xFFE, new byte[] { 0x81, 0x00, 0x01 })]
    public void Package_lengths_count_themselves_and_grow_to_more_bytes_past_63(int contentLength, byte[] expected)
    {
        Assert.Equal(expected, AmlWriter.EncodePackageLength(contentLength));
    }

    [Fact]
    public void An_eisa_id_packs_three_letters_and_four_hex_digits()
    {
        Assert.Equal(new byte[] { 0x0C, 0x41, 0xD0, 0x03, 0x03 }, new AmlWriter().EisaId("PNP0303").ToArray());
    }

    [Fact]
    public void Integers_take_their_shortest_encoding()
    {
        var aml = new AmlWriter().Integer(0).Integer(1).Integer(0x42).Integer(0x1234).Integer(0x12345678).ToArray();

        Assert.Equal(new byte[] { 0x00, 0x01, 0x0A, 0x42, 0x0B, 0x34, 0x12, 0x0C, 0x78, 0x56, 0x34, 0x12 }, aml);
    }

    [Fact]
    public void A_device_in_a_scope_nests_its_package_lengths()
    {
        var aml = new AmlWriter().Scope("\\_SB", scope => scope.Device("COM1", device => device.Name("_UID", uid => uid.Zero()))).ToArray();

        Assert.Equal(
            new byte[]
            {
                0x10, 0x13, (byte)'\\', (byte)'_', (byte)'S', (byte)'B', (byte)'_',
                0x5B, 0x82, 0x0B, (byte)'C', (byte)'O', (byte)'M', (byte)'1', 0x08, (byte)'_', (byte)'U', (byte)'I', (byte)'D', 0x00,
            },
            aml);
    }
}

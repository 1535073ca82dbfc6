namespace Vessel.Boot.Acpi;

/// <summary>
/// Builds a _CRS buffer from small resource descriptors (ACPI 6.5 §6.4.2): fixed-range I/O ports and an IRQ, ended by
/// the End Tag.
/// </summary>
public sealed class ResourceTemplate
{
    /// <summary>Small item: type 0x08 (I/O port), 7 bytes of data.</summary>
    private const byte IoPortDescriptor = 0x47;

    /// <summary>Small item: type 0x04 (IRQ), 2 bytes of data (no information byte: edge-triggered, active high, exclusive).</summary>
    private const byte IrqDescriptor = 0x22;

    /// <summary>Small item: type 0x0F (End Tag), 1 byte of checksum; 0 says the checksum is not computed.</summary>
    private const byte EndTag = 0x79;

    /// <summary>I/O descriptor information: the device decodes 16 address lines.</summary>
    private const byte Decode16 = 1;

    private readonly List<byte> bytes = [];

    /// <summary><c>IO (Decode16, port, port, 1, length)</c>: a fixed range of ports.</summary>
    public ResourceTemplate IoPorts(ushort port, byte length)
    {
        bytes.AddRange([IoPortDescriptor, Decode16, (byte)port, (byte)(port >> 8), (byte)port, (byte)(port >> 8), 1, length]);
        return this;
    }

    /// <summary><c>IRQNoFlags () { irq }</c>.</summary>
    public ResourceTemplate Irq(int irq)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)irq, 15u, nameof(irq));
        int mask = 1 << irq;
        bytes.AddRange([IrqDescriptor, (byte)mask, (byte)(mask >> 8)]);
        return this;
    }

    public byte[] ToArray() => [.. bytes, EndTag, 0];
}

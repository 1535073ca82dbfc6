namespace Vessel.Boot.Acpi;

/// <summary>
/// Builds a _CRS buffer from resource descriptors (ACPI 6.5 §6.4): fixed-range I/O ports and an IRQ (small items), the
/// address-space descriptors a host bridge's windows need (large items, §6.4.3.5), ended by the End Tag.
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

    /// <summary>Large items: QWord (0x8A), DWord (0x87) and Word (0x88) Address Space Descriptors.</summary>
    private const byte QWordAddressSpace = 0x8A;
    private const byte DWordAddressSpace = 0x87;
    private const byte WordAddressSpace = 0x88;

    /// <summary>Resource Type: memory range, I/O range, bus number range (§6.4.3.5.1, Table 6.46).</summary>
    private const byte MemoryRange = 0;
    private const byte IoRange = 1;
    private const byte BusNumberRange = 2;

    /// <summary>General flags: _MIF and _MAF set (fixed window), positive decode, resource producer (a bridge's window).</summary>
    private const byte FixedProducerWindow = 0x0C;

    /// <summary>Memory type-specific flags: read-write, non-cacheable.</summary>
    private const byte ReadWriteNonCacheable = 0x01;

    /// <summary>I/O type-specific flags: _RNG = 3, the window decodes both ISA and non-ISA addresses.</summary>
    private const byte EntireIoRange = 0x03;

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

    /// <summary><c>WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, first, last, 0, count)</c>.</summary>
    public ResourceTemplate BusNumbers(byte first, byte last) =>
        WordAddress(BusNumberRange, 0, first, last);

    /// <summary><c>WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0, first, last, 0, count)</c>.</summary>
    public ResourceTemplate IoWindow(ushort first, ushort last) =>
        WordAddress(IoRange, EntireIoRange, first, last);

    /// <summary>A memory window below 4 GiB: <c>DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite, ...)</c>.</summary>
    public ResourceTemplate MemoryWindow32(uint start, uint length)
    {
        bytes.AddRange([DWordAddressSpace, 23, 0, MemoryRange, FixedProducerWindow, ReadWriteNonCacheable]);
        AppendUInt32(0);
        AppendUInt32(start);
        AppendUInt32(start + length - 1);
        AppendUInt32(0);
        AppendUInt32(length);
        return this;
    }

    /// <summary>A 64-bit memory window: <c>QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite, ...)</c>.</summary>
    public ResourceTemplate MemoryWindow64(ulong start, ulong length)
    {
        bytes.AddRange([QWordAddressSpace, 43, 0, MemoryRange, FixedProducerWindow, ReadWriteNonCacheable]);
        AppendUInt64(0);
        AppendUInt64(start);
        AppendUInt64(start + length - 1);
        AppendUInt64(0);
        AppendUInt64(length);
        return this;
    }

    public byte[] ToArray() => [.. bytes, EndTag, 0];

    private ResourceTemplate WordAddress(byte resourceType, byte typeFlags, ushort first, ushort last)
    {
        bytes.AddRange([WordAddressSpace, 13, 0, resourceType, FixedProducerWindow, typeFlags]);
        AppendUInt16(0);
        AppendUInt16(first);
        AppendUInt16(last);
        AppendUInt16(0);
        AppendUInt16((ushort)(last - first + 1));
        return this;
    }

    private void AppendUInt16(ushort value)
    {
        bytes.Add((byte)value);
        bytes.Add((byte)(value >> 8));
    }

    private void AppendUInt32(uint value)
    {
        AppendUInt16((ushort)value);
        AppendUInt16((ushort)(value >> 16));
    }

    private void AppendUInt64(ulong value)
    {
        AppendUInt32((uint)value);
        AppendUInt32((uint)(value >> 32));
    }
}

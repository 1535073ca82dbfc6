namespace Vessel.Boot.Acpi;

/// <summary>Address space IDs of a Generic Address Structure (ACPI 6.5 §5.2.3.2, Table 5.1).</summary>
public enum AddressSpace : byte
{
    SystemMemory = 0,
    SystemIo = 1,
}

/// <summary>Access Size of a Generic Address Structure: 0 undefined (legacy), 1 byte, 2 word, 3 dword, 4 qword.</summary>
public enum AccessSize : byte
{
    Undefined = 0,
    Byte = 1,
    Word = 2,
    Dword = 3,
    Qword = 4,
}

/// <summary>Generic Address Structure (GAS, ACPI 6.5 §5.2.3.2): 12 bytes naming a register by address space, width and address.</summary>
public readonly record struct GenericAddress(AddressSpace Space, byte BitWidth, byte BitOffset, AccessSize AccessSize, ulong Address)
{
    public const int EncodedSize = 12;

    /// <summary>The all-zero GAS, meaning "not present".</summary>
    public static GenericAddress None => default;

    public static GenericAddress IoPort(ushort port, byte bitWidth, AccessSize accessSize = AccessSize.Undefined) =>
        new(AddressSpace.SystemIo, bitWidth, 0, accessSize, port);

    internal void AppendTo(AcpiTable table)
    {
        table.AppendByte((byte)Space);
        table.AppendByte(BitWidth);
        table.AppendByte(BitOffset);
        table.AppendByte((byte)AccessSize);
        table.AppendUInt64(Address);
    }
}

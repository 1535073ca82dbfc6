namespace Vessel.Boot.Layout;

/// <summary>One range of the memory map: struct boot_e820_entry (bootparam.h) and the multiboot mmap entry both carry these three fields.</summary>
public readonly record struct E820Entry(ulong Address, ulong Size, E820Type Type)
{
    /// <summary>Bytes of struct boot_e820_entry: u64 addr, u64 size, u32 type, packed.</summary>
    public const int EncodedSize = 20;

    public ulong End => Address + Size;

    public override string ToString() => $"0x{Address:x}-0x{End:x} {Type}";
}

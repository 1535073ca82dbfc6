using System.Buffers.Binary;

namespace Vessel.Boot.Multiboot;

/// <summary>
/// A multiboot v1 header (Multiboot Specification 0.6.96 §3.1): found in the first 8192 bytes of the image, 32-bit aligned,
/// with magic 0x1BADB002 and a checksum that makes magic + flags + checksum zero.
/// </summary>
public readonly record struct MultibootHeader(
    int Offset,
    MultibootHeaderFlags Flags,
    uint HeaderAddress,
    uint LoadAddress,
    uint LoadEndAddress,
    uint BssEndAddress,
    uint EntryAddress)
{
    public const uint Magic = 0x1BAD_B002;

    /// <summary>The header must lie entirely within the first 8192 bytes (§3.1.1).</summary>
    public const int SearchLimit = 8192;

    public const int Alignment = 4;

    /// <summary>magic, flags, checksum.</summary>
    public const int MinimumSize = 12;

    /// <summary>Through entry_addr, the last a.out kludge field.</summary>
    public const int AddressFieldsSize = 32;

    private const int FlagsOffset = 4;
    private const int ChecksumOffset = 8;
    private const int HeaderAddressOffset = 12;
    private const int LoadAddressOffset = 16;
    private const int LoadEndAddressOffset = 20;
    private const int BssEndAddressOffset = 24;
    private const int EntryAddressOffset = 28;

    public bool HasAddressFields => (Flags & MultibootHeaderFlags.AddressFields) != 0;

    /// <summary>Finds the first valid header; a magic number with a wrong checksum is skipped, as it may be data.</summary>
    public static bool TryFind(ReadOnlySpan<byte> image, out MultibootHeader header)
    {
        int limit = Math.Min(image.Length, SearchLimit);
        for (int offset = 0; offset + MinimumSize <= limit; offset += Alignment)
        {
            var candidate = image[offset..];
            if (BinaryPrimitives.ReadUInt32LittleEndian(candidate) != Magic)
            {
                continue;
            }

            uint flags = BinaryPrimitives.ReadUInt32LittleEndian(candidate[FlagsOffset..]);
            uint checksum = BinaryPrimitives.ReadUInt32LittleEndian(candidate[ChecksumOffset..]);
            if (unchecked(Magic + flags + checksum) != 0)
            {
                continue;
            }

            bool addressFields = (flags & (uint)MultibootHeaderFlags.AddressFields) != 0;
            if (addressFields && offset + AddressFieldsSize > limit)
            {
                continue;
            }

            header = new MultibootHeader(
                offset,
                (MultibootHeaderFlags)flags,
                addressFields ? BinaryPrimitives.ReadUInt32LittleEndian(candidate[HeaderAddressOffset..]) : 0,
                addressFields ? BinaryPrimitives.ReadUInt32LittleEndian(candidate[LoadAddressOffset..]) : 0,
                addressFields ? BinaryPrimitives.ReadUInt32LittleEndian(candidate[LoadEndAddressOffset..]) : 0,
                addressFields ? BinaryPrimitives.ReadUInt32LittleEndian(candidate[BssEndAddressOffset..]) : 0,
                addressFields ? BinaryPrimitives.ReadUInt32LittleEndian(candidate[EntryAddressOffset..]) : 0);
            return true;
        }

        header = default;
        return false;
    }
}

using System.Buffers.Binary;
using Vessel.Boot.Layout;

namespace Vessel.Boot.Multiboot;

/// <summary>
/// The multiboot information structure (Multiboot Specification 0.6.96 §3.3) with the fields Vessel fills: memory sizes, command line,
/// modules, memory map and boot loader name. Built in a buffer, written to guest memory by <see cref="MultibootLoader"/>.
/// </summary>
public sealed class MultibootInfo
{
    /// <summary>Bytes reserved for the structure; its fields end at offset 116 (framebuffer_color_info) and the rest stays zero.</summary>
    public const int Size = 128;

    /// <summary>Bytes of one module entry: mod_start, mod_end, string, reserved (§3.3).</summary>
    public const int ModuleEntrySize = 16;

    /// <summary>Bytes of one memory-map entry: size, base_addr, length, type (§3.3); size counts the 20 bytes after itself.</summary>
    public const int MemoryMapEntrySize = sizeof(uint) + E820Entry.EncodedSize;

    private const int FlagsOffset = 0;
    private const int MemoryLowerOffset = 4;
    private const int MemoryUpperOffset = 8;
    private const int CommandLineOffset = 16;
    private const int ModulesCountOffset = 20;
    private const int ModulesAddressOffset = 24;
    private const int MemoryMapLengthOffset = 44;
    private const int MemoryMapAddressOffset = 48;
    private const int BootLoaderNameOffset = 64;

    private readonly byte[] bytes = new byte[Size];

    public MultibootInfoFlags Flags { get; private set; }

    public ReadOnlySpan<byte> Bytes => bytes;

    /// <summary>mem_lower and mem_upper, in KiB: memory from 0 and from 1 MiB up to the first hole.</summary>
    public void SetMemory(uint lowerKiB, uint upperKiB)
    {
        Write(MemoryLowerOffset, lowerKiB);
        Write(MemoryUpperOffset, upperKiB);
        SetFlag(MultibootInfoFlags.Memory);
    }

    public void SetCommandLine(uint address)
    {
        Write(CommandLineOffset, address);
        SetFlag(MultibootInfoFlags.CommandLine);
    }

    public void SetModules(uint count, uint address)
    {
        Write(ModulesCountOffset, count);
        Write(ModulesAddressOffset, address);
        SetFlag(MultibootInfoFlags.Modules);
    }

    public void SetMemoryMap(uint length, uint address)
    {
        Write(MemoryMapLengthOffset, length);
        Write(MemoryMapAddressOffset, address);
        SetFlag(MultibootInfoFlags.MemoryMap);
    }

    public void SetBootLoaderName(uint address)
    {
        Write(BootLoaderNameOffset, address);
        SetFlag(MultibootInfoFlags.BootLoaderName);
    }

    /// <summary>Encodes one memory-map entry; mmap_addr points at its size field (§3.3).</summary>
    public static void EncodeMemoryMapEntry(Span<byte> destination, E820Entry entry)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, E820Entry.EncodedSize);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[sizeof(uint)..], entry.Address);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[(sizeof(uint) + sizeof(ulong))..], entry.Size);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[(sizeof(uint) + (2 * sizeof(ulong)))..], (uint)entry.Type);
    }

    /// <summary>Encodes one module entry: mod_start, mod_end (first byte past the module), string; the reserved word stays 0.</summary>
    public static void EncodeModuleEntry(Span<byte> destination, uint start, uint end, uint stringAddress)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, start);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[sizeof(uint)..], end);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[(2 * sizeof(uint))..], stringAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[(3 * sizeof(uint))..], 0);
    }

    private void SetFlag(MultibootInfoFlags flag)
    {
        Flags |= flag;
        Write(FlagsOffset, (uint)Flags);
    }

    private void Write(int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(offset), value);
}

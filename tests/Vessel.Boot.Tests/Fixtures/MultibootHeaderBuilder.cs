using System.Buffers.Binary;

namespace Vessel.Boot.Tests.Fixtures;

/// <summary>Builds a multiboot v1 header, optionally with the a.out kludge address fields.</summary>
public static class MultibootHeaderBuilder
{
    public const uint Magic = 0x1BADB002;

    public static byte[] Build(uint flags, uint headerAddress = 0, uint loadAddress = 0, uint loadEndAddress = 0, uint bssEndAddress = 0, uint entryAddress = 0, bool corruptChecksum = false)
    {
        var header = new byte[32];
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), unchecked(0u - (Magic + flags) + (corruptChecksum ? 1u : 0u)));
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(12), headerAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(16), loadAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(20), loadEndAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(24), bssEndAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(28), entryAddress);
        return header;
    }

    /// <summary>Code bytes that start with a multiboot header (flags 0, like kvm-unit-tests' cstart64.S) followed by a recognizable pattern.</summary>
    public static byte[] CodeWithHeader(int length, uint flags = 0)
    {
        var code = BzImageBuilder.MakeKernel(length);
        Build(flags).AsSpan(0, 12).CopyTo(code);
        return code;
    }
}

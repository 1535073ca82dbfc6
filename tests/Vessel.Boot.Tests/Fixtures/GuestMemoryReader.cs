using System.Buffers.Binary;
using Vessel.Core.Memory;

namespace Vessel.Boot.Tests.Fixtures;

/// <summary>Little-endian reads from guest memory for assertions.</summary>
public static class GuestMemoryReader
{
    public const ulong SixtyFourMiB = 64UL << 20;

    public static byte U8(this GuestMemory memory, ulong address) => memory.GetSpan(new GuestAddress(address), 1)[0];

    public static ushort U16(this GuestMemory memory, ulong address) => BinaryPrimitives.ReadUInt16LittleEndian(memory.GetSpan(new GuestAddress(address), 2));

    public static uint U32(this GuestMemory memory, ulong address) => BinaryPrimitives.ReadUInt32LittleEndian(memory.GetSpan(new GuestAddress(address), 4));

    public static ulong U64(this GuestMemory memory, ulong address) => BinaryPrimitives.ReadUInt64LittleEndian(memory.GetSpan(new GuestAddress(address), 8));

    public static byte[] Bytes(this GuestMemory memory, ulong address, int length) => memory.GetSpan(new GuestAddress(address), length).ToArray();

    public static string CString(this GuestMemory memory, ulong address)
    {
        var span = memory.GetSpan(new GuestAddress(address), 4096);
        return System.Text.Encoding.UTF8.GetString(span[..span.IndexOf((byte)0)]);
    }
}

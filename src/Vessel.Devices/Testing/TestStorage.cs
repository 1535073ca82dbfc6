using Vessel.Core.Bus;

namespace Vessel.Devices.Testing;

/// <summary>
/// Bytes that read back what was written, reached through the bus: pc-testdev's 4-byte data latch (ports 0xE0 and 0xE8)
/// and its 64 KiB "iomem" at 0xFF000000. An access at offset k of width w touches bytes k..k+w-1, so a guest can write a
/// word at 0xE2 and read it back in the upper half of the doubleword at 0xE0; every iomem access is an MMIO exit, which
/// lets a test check how the hypervisor emulates an instruction's memory operand. Bytes past the end read as all ones.
/// </summary>
public sealed class TestStorage(int size) : IBusDevice
{
    private readonly Lock gate = new();
    private readonly byte[] contents = new byte[size];

    public int Size => contents.Length;

    public void Read(ulong offset, Span<byte> data)
    {
        lock (gate)
        {
            for (int index = 0; index < data.Length; index++)
            {
                ulong position = offset + (ulong)index;
                data[index] = position < (ulong)contents.Length ? contents[position] : byte.MaxValue;
            }
        }
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        lock (gate)
        {
            for (int index = 0; index < data.Length; index++)
            {
                ulong position = offset + (ulong)index;
                if (position < (ulong)contents.Length)
                {
                    contents[position] = data[index];
                }
            }
        }
    }
}

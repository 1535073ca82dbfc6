using System.Text;
using Vessel.Boot.Layout;
using Vessel.Core.Memory;

namespace Vessel.Boot.Multiboot;

/// <summary>NUL-terminated strings packed upward from <see cref="BootLayout.CommandLineStart"/>, below the reserved area at 0x9FC00.</summary>
internal sealed class MultibootStringArea(GuestMemory memory)
{
    private ulong next = BootLayout.CommandLineStart;

    /// <summary>Bytes that <paramref name="texts"/> take in the area, NULs included: what to reserve before anything is written.</summary>
    public static ulong SizeOf(IEnumerable<string> texts) => texts.Aggregate(0UL, (sum, text) => sum + (ulong)Encoding.UTF8.GetByteCount(text) + 1);

    public uint Add(string text, string what)
    {
        if (text.Contains('\0', StringComparison.Ordinal))
        {
            throw new BootImageException($"{what} contains a NUL character, which would end it early. Remove it.");
        }

        byte[] bytes = Encoding.UTF8.GetBytes(text + "\0");
        if (next + (ulong)bytes.Length > BootLayout.ReservedLowStart)
        {
            throw new BootImageException(
                $"{what} does not fit: the multiboot strings (command line and module strings) may take at most "
                + $"{BootLayout.ReservedLowStart - BootLayout.CommandLineStart} bytes. Shorten them.");
        }

        ulong address = next;
        GuestRam.Write(memory, address, bytes, what);
        next += (ulong)bytes.Length;
        return (uint)address;
    }
}

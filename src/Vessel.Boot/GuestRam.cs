using Vessel.Core.Memory;

namespace Vessel.Boot;

/// <summary>Loader-side helpers over <see cref="GuestMemory"/> that turn "not RAM" into an actionable <see cref="BootImageException"/>.</summary>
internal static class GuestRam
{
    /// <summary>Largest chunk handed to <see cref="GuestMemory.GetSpan"/> at once (its length is an int).</summary>
    private const int ChunkSize = 1 << 30;

    /// <summary>Throws unless [address, address + length) lies in one RAM region; <paramref name="what"/> names the thing being placed.</summary>
    public static void Require(GuestMemory memory, ulong address, ulong length, string what)
    {
        if (address + length < address || !memory.IsRam(new GuestAddress(address), length))
        {
            throw new BootImageException(
                $"{what} needs guest-physical 0x{address:x}-0x{address + length:x} ({length} bytes), which is not guest RAM "
                + $"(guest RAM: {Describe(memory)}). Give the guest more memory or use a smaller image.");
        }
    }

    public static void Write(GuestMemory memory, ulong address, ReadOnlySpan<byte> bytes, string what)
    {
        Require(memory, address, (ulong)bytes.Length, what);
        memory.WriteBytes(new GuestAddress(address), bytes);
    }

    public static void Zero(GuestMemory memory, ulong address, ulong length, string what)
    {
        Require(memory, address, length, what);
        while (length > 0)
        {
            int chunk = (int)Math.Min(length, ChunkSize);
            memory.GetSpan(new GuestAddress(address), chunk).Clear();
            address += (ulong)chunk;
            length -= (ulong)chunk;
        }
    }

    /// <summary>The end of the RAM region that starts at guest-physical 0 (RAM below the 32-bit MMIO hole).</summary>
    public static ulong LowRamEnd(GuestMemory memory) => memory.Regions[0].End.Value;

    private static string Describe(GuestMemory memory) =>
        string.Join(", ", memory.Regions.Select(region => $"0x{region.Start.Value:x}-0x{region.End.Value:x}"));
}

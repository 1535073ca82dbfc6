using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Vessel.Core.Memory;

/// <summary>
/// Guest RAM: host memory from anonymous mmap, laid out around the 32-bit MMIO hole.
/// RAM below <see cref="MmioHoleStart"/> starts at guest-physical 0; whatever does not fit continues at 4 GiB.
/// Both accelerators use these same host bytes.
/// </summary>
public sealed unsafe class GuestMemory : IDisposable
{
    /// <summary>Start of the 32-bit MMIO hole (PCI, IOAPIC, LAPIC); RAM never appears between here and 4 GiB.</summary>
    public const ulong MmioHoleStart = 0xC000_0000;

    public const ulong FourGiB = 0x1_0000_0000;

    public const int PageSize = 4096;

    private readonly MemoryRegion[] regions;
    private readonly byte* lowBase;
    private readonly ulong lowSize;
    private readonly byte* highBase;
    private readonly ulong highSize;
    private bool disposed;

    private GuestMemory(MemoryRegion[] regions)
    {
        this.regions = regions;
        lowBase = (byte*)regions[0].HostAddress;
        lowSize = regions[0].Size;
        if (regions.Length > 1)
        {
            highBase = (byte*)regions[1].HostAddress;
            highSize = regions[1].Size;
        }
    }

    public IReadOnlyList<MemoryRegion> Regions => regions;

    public ulong TotalSize => lowSize + highSize;

    /// <summary>Maps <paramref name="size"/> bytes of guest RAM, splitting it around the MMIO hole.</summary>
    public static GuestMemory Create(ulong size)
    {
        if (size < (1UL << 20) || size % PageSize != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(size), $"Guest memory must be a whole number of 4 KiB pages and at least 1 MiB, not {size} bytes.");
        }

        ulong low = Math.Min(size, MmioHoleStart);
        ulong high = size - low;
        var list = new List<MemoryRegion> { new(new GuestAddress(0), low, NativeMemoryMapping.MapAnonymousReadWrite(low)) };
        if (high > 0)
        {
            list.Add(new MemoryRegion(new GuestAddress(FourGiB), high, NativeMemoryMapping.MapAnonymousReadWrite(high)));
        }

        return new GuestMemory([.. list]);
    }

    /// <summary>
    /// The host pointer for a guest-physical RAM address, or null when it is not RAM (MMIO or beyond memory).
    /// The caller must not step past the end of the 4 KiB page it asked about.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* HostPointerOrNull(ulong physicalAddress)
    {
        if (physicalAddress < lowSize)
        {
            return lowBase + physicalAddress;
        }

        ulong highOffset = physicalAddress - FourGiB;
        return highOffset < highSize ? highBase + highOffset : null;
    }

    public bool IsRam(GuestAddress address, ulong length = 1)
    {
        foreach (var region in regions)
        {
            if (region.Contains(address, length))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A span over guest RAM that must lie entirely within one region.</summary>
    public Span<byte> GetSpan(GuestAddress address, int length)
    {
        if (length < 0)
        {
            ThrowOutOfRange(address, 0);
        }

        foreach (var region in regions)
        {
            if (region.Contains(address, (ulong)length))
            {
                // Safety: Contains() proved [address, address+length) lies inside this region's mapping.
                return new Span<byte>((byte*)region.HostAddress + (address.Value - region.Start.Value), length);
            }
        }

        ThrowOutOfRange(address, (ulong)length);
        return default;
    }

    public T Read<T>(GuestAddress address)
        where T : unmanaged => MemoryMarshal.Read<T>(GetSpan(address, sizeof(T)));

    public void Write<T>(GuestAddress address, T value)
        where T : unmanaged => MemoryMarshal.Write(GetSpan(address, sizeof(T)), in value);

    public void ReadBytes(GuestAddress address, Span<byte> destination) => GetSpan(address, destination.Length).CopyTo(destination);

    public void WriteBytes(GuestAddress address, ReadOnlySpan<byte> source) => source.CopyTo(GetSpan(address, source.Length));

    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        foreach (var region in regions)
        {
            NativeMemoryMapping.Unmap(region.HostAddress, region.Size);
        }
    }

    private static void ThrowOutOfRange(GuestAddress address, ulong length) =>
        throw new GuestMemoryException($"Guest-physical range {address}+0x{length:x} is not guest RAM.");
}

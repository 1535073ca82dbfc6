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
    private readonly ulong[] dirtyPages;
    private IGuestMemoryWriteObserver[] writeObservers = [];
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

        ulong pages = regions[^1].End.Value / PageSize;
        dirtyPages = new ulong[(pages + 63) / 64];
    }

    public IReadOnlyList<MemoryRegion> Regions => regions;

    public ulong TotalSize => lowSize + highSize;

    /// <summary>The memory file this RAM is mapped from copy-on-write (<see cref="MapFile"/>), or null for anonymous memory.</summary>
    public string? BackingFile { get; private init; }

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
    /// Guest RAM of <paramref name="size"/> bytes laid out as <see cref="Create"/> lays it out, backed copy-on-write by a
    /// memory file holding the regions one after another (what a snapshot writes): the guest runs at once and each page is
    /// read from the file the first time it is touched (Firecracker's File backend). The file is never written.
    /// </summary>
    /// <exception cref="GuestMemoryException">The file is missing, unreadable or shorter than <paramref name="size"/>.</exception>
    public static GuestMemory MapFile(string path, ulong size)
    {
        if (size < (1UL << 20) || size % PageSize != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(size), $"Guest memory must be a whole number of 4 KiB pages and at least 1 MiB, not {size} bytes.");
        }

        Microsoft.Win32.SafeHandles.SafeFileHandle file;
        try
        {
            file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new GuestMemoryException($"The memory file {path} cannot be opened: {exception.Message}");
        }

        using (file)
        {
            long length = RandomAccess.GetLength(file);
            if ((ulong)length < size)
            {
                throw new GuestMemoryException(
                    $"The memory file {path} is {length} bytes; the snapshot's guest has {size} bytes of RAM. Give the memory file written with this snapshot.");
            }

            ulong low = Math.Min(size, MmioHoleStart);
            ulong high = size - low;
            var list = new List<MemoryRegion> { new(new GuestAddress(0), low, NativeMemoryMapping.MapFilePrivate(file, 0, low, path)) };
            if (high > 0)
            {
                try
                {
                    list.Add(new MemoryRegion(new GuestAddress(FourGiB), high, NativeMemoryMapping.MapFilePrivate(file, (long)low, high, path)));
                }
                catch
                {
                    NativeMemoryMapping.Unmap(list[0].HostAddress, low);
                    throw;
                }
            }

            return new GuestMemory([.. list]) { BackingFile = Path.GetFullPath(path) };
        }
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

    /// <summary>
    /// Checks that [<paramref name="address"/>, +<paramref name="length"/>) is guest RAM inside one region and gives a span over it.
    /// For guest-supplied addresses: false (never an exception) when any byte is not RAM. A caller that writes through the span
    /// calls <see cref="NotifyExternalWrite"/> afterwards.
    /// </summary>
    public bool TryGetSpan(GuestAddress address, int length, out Span<byte> span)
    {
        if (length >= 0)
        {
            foreach (var region in regions)
            {
                if (region.Contains(address, (ulong)length))
                {
                    // Safety: Contains() proved [address, address+length) lies inside this region's mapping.
                    span = new Span<byte>((byte*)region.HostAddress + (address.Value - region.Start.Value), length);
                    return true;
                }
            }
        }

        span = default;
        return false;
    }

    /// <summary>
    /// The host address of guest RAM [<paramref name="address"/>, +<paramref name="length"/>) when it all lies in one region,
    /// for structures a device reads and writes many times with atomic accesses (virtqueue rings). Valid until disposal.
    /// </summary>
    public bool TryGetHostAddress(GuestAddress address, ulong length, out nint host)
    {
        foreach (var region in regions)
        {
            if (region.Contains(address, length))
            {
                host = region.HostAddress + (nint)(address.Value - region.Start.Value);
                return true;
            }
        }

        host = 0;
        return false;
    }

    /// <summary>Copies guest RAM into <paramref name="destination"/>; false when any byte is not RAM.</summary>
    public bool TryRead(GuestAddress address, Span<byte> destination)
    {
        if (!TryGetSpan(address, destination.Length, out var source))
        {
            return false;
        }

        source.CopyTo(destination);
        return true;
    }

    /// <summary>Copies <paramref name="source"/> into guest RAM as a device does (code on those pages is dropped, pages marked dirty); false when any byte is not RAM.</summary>
    public bool TryWrite(GuestAddress address, ReadOnlySpan<byte> source)
    {
        if (!TryGetSpan(address, source.Length, out var destination))
        {
            return false;
        }

        source.CopyTo(destination);
        NotifyExternalWrite(address, (ulong)source.Length);
        return true;
    }

    /// <summary>Registers an observer of device writes (the software CPU's code cache).</summary>
    public void AddWriteObserver(IGuestMemoryWriteObserver observer)
    {
        lock (regions)
        {
            writeObservers = [.. writeObservers, observer];
        }
    }

    /// <summary>
    /// Reports a write to RAM that did not come from a CPU store (device DMA through <see cref="TryGetSpan"/>): marks the pages
    /// dirty and tells every observer, so no vCPU runs code decoded from the bytes before the write.
    /// </summary>
    public void NotifyExternalWrite(GuestAddress address, ulong length)
    {
        if (length == 0)
        {
            return;
        }

        ulong first = address.Value / PageSize;
        ulong last = (address.Value + length - 1) / PageSize;
        for (ulong page = first; page <= last && page / 64 < (ulong)dirtyPages.Length; page++)
        {
            ulong bit = 1UL << (int)(page % 64);
            ref ulong word = ref dirtyPages[page / 64];
            if ((Volatile.Read(ref word) & bit) == 0)
            {
                Interlocked.Or(ref word, bit);
            }
        }

        foreach (var observer in writeObservers)
        {
            observer.OnExternalWrite(address.Value, length);
        }
    }

    /// <summary>
    /// Records a write to the page holding <paramref name="physicalAddress"/> in the dirty log without telling the write
    /// observers: for CPU stores (the CPU's own code cache already sees them) and the KVM dirty bitmap.
    /// </summary>
    public void MarkDirty(ulong physicalAddress)
    {
        ulong page = physicalAddress / PageSize;
        if (page / 64 >= (ulong)dirtyPages.Length)
        {
            return;
        }

        ulong bit = 1UL << (int)(page % 64);
        ref ulong word = ref dirtyPages[page / 64];
        if ((Volatile.Read(ref word) & bit) == 0)
        {
            Interlocked.Or(ref word, bit);
        }
    }

    /// <summary>True when the page holding <paramref name="address"/> was written by a device since the last <see cref="TakeDirtyPages"/>.</summary>
    public bool IsDirty(GuestAddress address)
    {
        ulong page = address.Value / PageSize;
        return page / 64 < (ulong)dirtyPages.Length && (Volatile.Read(ref dirtyPages[page / 64]) & (1UL << (int)(page % 64))) != 0;
    }

    /// <summary>
    /// The device-written dirty log since the last call, one bit per 4 KiB guest-physical page (bit n of word w is page 64w+n),
    /// cleared as it is taken: what diff snapshots and migration read.
    /// </summary>
    public ulong[] TakeDirtyPages()
    {
        var taken = new ulong[dirtyPages.Length];
        for (int index = 0; index < dirtyPages.Length; index++)
        {
            taken[index] = Interlocked.Exchange(ref dirtyPages[index], 0);
        }

        return taken;
    }

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

using Vessel.Core.Memory;

namespace Vessel.Boot.Layout;

/// <summary>
/// The guest's memory map, derived from <see cref="GuestMemory.Regions"/> so it can never disagree with the RAM that exists.
/// RAM below <see cref="BootLayout.ReservedLowStart"/> is usable, the EBDA/VGA/BIOS area up to 1 MiB is reserved, the rest of each region is usable.
/// The 32-bit MMIO hole is left out of the map, as QEMU does (a hole is simply absent); ranges inside it that the OS must not
/// reuse (PCI ECAM, as Firecracker and QEMU q35 reserve) are passed as <c>reservedRanges</c> by the machine builder.
/// </summary>
public static class E820Map
{
    public static IReadOnlyList<E820Entry> Build(GuestMemory memory, IEnumerable<E820Entry>? reservedRanges = null)
    {
        var entries = new List<E820Entry>();
        foreach (var region in memory.Regions)
        {
            ulong start = region.Start.Value;
            ulong end = region.End.Value;
            if (start < BootLayout.ReservedLowStart)
            {
                entries.Add(new E820Entry(start, Math.Min(end, BootLayout.ReservedLowStart) - start, E820Type.Ram));
            }

            if (start < BootLayout.HighMemoryStart && end > BootLayout.ReservedLowStart)
            {
                ulong reservedStart = Math.Max(start, BootLayout.ReservedLowStart);
                ulong reservedEnd = Math.Min(end, BootLayout.HighMemoryStart);
                entries.Add(new E820Entry(reservedStart, reservedEnd - reservedStart, E820Type.Reserved));
            }

            ulong usableStart = Math.Max(start, BootLayout.HighMemoryStart);
            if (end > usableStart)
            {
                entries.Add(new E820Entry(usableStart, end - usableStart, E820Type.Ram));
            }
        }

        foreach (var reserved in reservedRanges ?? [])
        {
            foreach (var existing in entries)
            {
                if (reserved.Address < existing.End && existing.Address < reserved.End)
                {
                    throw new ArgumentException(
                        $"Reserved memory-map range {reserved} overlaps {existing}; reserved ranges must lie outside guest RAM (in the MMIO hole).",
                        nameof(reservedRanges));
                }
            }

            entries.Add(reserved);
        }

        entries.Sort((left, right) => left.Address.CompareTo(right.Address));
        return entries;
    }
}

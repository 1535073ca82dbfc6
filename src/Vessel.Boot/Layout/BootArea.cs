namespace Vessel.Boot.Layout;

/// <summary>
/// A range of guest-physical memory [Start, End) that a boot loader fills with its own structures, so a kernel image may not load there.
/// <see cref="Contents"/> names what lives there, for the error that explains a collision.
/// </summary>
public readonly record struct BootArea(ulong Start, ulong End, string Contents)
{
    public bool Overlaps(ulong start, ulong end) => start < End && Start < end;

    /// <summary>
    /// Throws unless [start, end) misses every area; <paramref name="what"/> says what wanted that range, and how it
    /// was given, for the message.
    /// </summary>
    public static void RequireClear(IReadOnlyList<BootArea> areas, ulong start, ulong end, string what)
    {
        foreach (var area in areas)
        {
            if (area.Overlaps(start, end))
            {
                throw new BootImageException(
                    $"{what} 0x{start:x}-0x{end:x}, which overlaps 0x{area.Start:x}-0x{area.End:x}, where the boot loader puts "
                    + $"{area.Contents}. Link the kernel elsewhere (1 MiB and up is always free).");
            }
        }
    }
}

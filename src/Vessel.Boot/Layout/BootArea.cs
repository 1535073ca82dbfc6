namespace Vessel.Boot.Layout;

/// <summary>
/// A range of guest-physical memory [Start, End) that a boot loader fills with its own structures, so a kernel image may not load there.
/// <see cref="Contents"/> names what lives there, for the error that explains a collision.
/// </summary>
public readonly record struct BootArea(ulong Start, ulong End, string Contents)
{
    public bool Overlaps(ulong start, ulong end) => start < End && Start < end;
}

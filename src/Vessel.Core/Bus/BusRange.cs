namespace Vessel.Core.Bus;

/// <summary>A device's claim on [Start, Start + Length) of a bus.</summary>
public readonly record struct BusRange(ulong Start, ulong Length, IBusDevice Device, string Name)
{
    public ulong End => Start + Length;

    public bool Contains(ulong address) => address >= Start && address - Start < Length;

    public bool Overlaps(ulong start, ulong length) => start < End && Start < start + length;
}

namespace Vessel.Core.Memory;

/// <summary>A guest-physical address. Kept distinct from raw integers so host and guest addresses never mix.</summary>
public readonly record struct GuestAddress(ulong Value) : IComparable<GuestAddress>
{
    public GuestAddress Add(ulong offset) => new(Value + offset);

    public static GuestAddress operator +(GuestAddress address, ulong offset) => new(address.Value + offset);

    public static ulong operator -(GuestAddress end, GuestAddress start) => end.Value - start.Value;

    public static bool operator <(GuestAddress left, GuestAddress right) => left.Value < right.Value;

    public static bool operator >(GuestAddress left, GuestAddress right) => left.Value > right.Value;

    public static bool operator <=(GuestAddress left, GuestAddress right) => left.Value <= right.Value;

    public static bool operator >=(GuestAddress left, GuestAddress right) => left.Value >= right.Value;

    public int CompareTo(GuestAddress other) => Value.CompareTo(other.Value);

    public override string ToString() => $"0x{Value:x}";
}

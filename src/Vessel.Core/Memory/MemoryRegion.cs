namespace Vessel.Core.Memory;

/// <summary>One contiguous range of guest RAM backed by one contiguous host mapping.</summary>
public sealed class MemoryRegion(GuestAddress start, ulong size, nint hostAddress)
{
    public GuestAddress Start { get; } = start;

    public ulong Size { get; } = size;

    /// <summary>Host virtual address of the region's first byte (what KVM's user memory region points at).</summary>
    public nint HostAddress { get; } = hostAddress;

    public GuestAddress End => Start + Size;

    public bool Contains(GuestAddress address, ulong length) =>
        address >= Start && length <= Size && address.Value - Start.Value <= Size - length;
}

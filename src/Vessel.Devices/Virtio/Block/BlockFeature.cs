namespace Vessel.Devices.Virtio.Block;

/// <summary>virtio-blk feature bits (virtio 1.2 §5.2.3).</summary>
public static class BlockFeature
{
    public const ulong SegmentMaximum = 1UL << 2;
    public const ulong ReadOnly = 1UL << 5;
    public const ulong BlockSize = 1UL << 6;
    public const ulong Flush = 1UL << 9;
    public const ulong Discard = 1UL << 13;
    public const ulong WriteZeroes = 1UL << 14;
}

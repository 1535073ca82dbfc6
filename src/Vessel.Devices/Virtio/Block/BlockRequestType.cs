namespace Vessel.Devices.Virtio.Block;

/// <summary>virtio_blk_req.type (virtio 1.2 §5.2.6).</summary>
public enum BlockRequestType : uint
{
    In = 0,
    Out = 1,
    Flush = 4,
    GetId = 8,
    Discard = 11,
    WriteZeroes = 13,
}

namespace Vessel.Core.Memory;

/// <summary>
/// Told about every write to guest RAM that does not come from a CPU's own store path: device DMA, a snapshot restore. The
/// software CPU drops decoded code on those pages, exactly as a guest store there would.
/// </summary>
public interface IGuestMemoryWriteObserver
{
    /// <summary>[<paramref name="physicalAddress"/>, +<paramref name="length"/>) of RAM has just been written.</summary>
    void OnExternalWrite(ulong physicalAddress, ulong length);
}

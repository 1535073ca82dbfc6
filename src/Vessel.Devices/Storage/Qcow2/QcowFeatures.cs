namespace Vessel.Devices.Storage.Qcow2;

/// <summary>qcow2 header <c>incompatible_features</c> (docs/interop/qcow2.txt, bytes 72-79): software that does not know a set bit must not open the image.</summary>
[Flags]
internal enum IncompatibleFeatures : ulong
{
    None = 0,

    /// <summary>Refcounts may be stale (lazy refcounts); they must be rebuilt before writing.</summary>
    Dirty = 1 << 0,

    /// <summary>QEMU found corruption; the image may only be read.</summary>
    Corrupt = 1 << 1,
    ExternalDataFile = 1 << 2,

    /// <summary>The header's compression_type byte is valid (deflate when 0).</summary>
    CompressionType = 1 << 3,
    ExtendedL2Entries = 1 << 4,

    Known = Dirty | Corrupt | ExternalDataFile | CompressionType | ExtendedL2Entries,
}

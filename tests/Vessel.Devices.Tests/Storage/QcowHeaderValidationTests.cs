using System.Buffers.Binary;
using System.Security.Cryptography;
using Vessel.Devices.Storage;
using Vessel.Devices.Storage.Qcow2;

namespace Vessel.Devices.Tests.Storage;

/// <summary>Corrupt and unsupported qcow2 headers are refused with the fault named, and a refused open writes nothing.</summary>
public class QcowHeaderValidationTests
{
    /// <summary>Low byte of incompatible_features (header byte 79, big-endian): bit 0 dirty, bit 3 compression type, bit 4 extended L2 (qcow2.txt).</summary>
    private const int IncompatibleFeaturesLowByte = 79;
    private const byte Dirty = 1 << 0;
    private const byte CompressionType = 1 << 3;
    private const byte ExtendedL2Entries = 1 << 4;

    private static DiskImageException OpenPatched(Action<byte[]> patch, bool readOnly = false)
    {
        using var scratch = new ScratchFolder();
        string path = scratch.File("image.qcow2");
        QcowImage.Create(path, 1 << 30);
        byte[] bytes = File.ReadAllBytes(path);
        patch(bytes);
        File.WriteAllBytes(path, bytes);
        byte[] before = SHA256.HashData(bytes);

        var error = Assert.Throws<DiskImageException>(() => DiskImage.Open(path, DiskImageFormat.Qcow2, readOnly));

        Assert.Equal(before, SHA256.HashData(File.ReadAllBytes(path)));
        Assert.StartsWith($"Disk image '{path}' ", error.Message);
        return error;
    }

    [Fact]
    public void A_bad_magic_is_refused_when_qcow2_is_asked_for() =>
        Assert.Contains("is not a qcow2 image", OpenPatched(bytes => bytes[0] = 0).Message);

    [Fact]
    public void An_unknown_version_is_refused() =>
        Assert.Contains("uses qcow2 version 4 (Vessel reads versions 2 and 3), which Vessel does not support",
            OpenPatched(bytes => BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(4), 4)).Message);

    [Fact]
    public void Cluster_bits_out_of_range_are_refused() =>
        Assert.Contains("has a corrupt qcow2 header: its cluster_bits is 30, outside 9-21; repair it with 'qemu-img check -r all' or restore it from a backup.",
            OpenPatched(bytes => BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(20), 30)).Message);

    [Fact]
    public void An_L1_table_beyond_the_end_of_the_file_is_refused() =>
        Assert.Contains("its L1 table (0x10000000, 16 bytes) lies beyond the end of the file",
            OpenPatched(bytes => BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(40), 0x1000_0000)).Message);

    [Fact]
    public void A_refcount_table_beyond_the_end_of_the_file_is_refused() =>
        Assert.Contains("its refcount table (0x20000000, 65536 bytes) lies beyond the end of the file",
            OpenPatched(bytes => BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(48), 0x2000_0000)).Message);

    [Fact]
    public void An_L1_table_too_small_for_the_size_is_refused() =>
        Assert.Contains("its L1 table (1 entries) does not fit its size",
            OpenPatched(bytes => BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(36), 1)).Message);

    [Fact]
    public void Unknown_incompatible_feature_bits_are_refused() =>
        Assert.Contains("uses unknown incompatible feature bits 0x400, which Vessel does not support",
            OpenPatched(bytes => bytes[78] = 0x04).Message);

    [Fact]
    public void An_encrypted_image_is_refused() =>
        Assert.Contains("uses encryption",
            OpenPatched(bytes => BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(32), 1)).Message);

    [Fact]
    public void Zstd_compression_is_refused_with_its_name() =>
        Assert.Contains("uses zstd compression, which Vessel does not support; convert it with 'qemu-img convert -O qcow2'.",
            OpenPatched(bytes =>
            {
                bytes[IncompatibleFeaturesLowByte] = CompressionType;
                bytes[104] = 1;
            }).Message);

    [Fact]
    public void Extended_L2_entries_are_refused() =>
        Assert.Contains("extended L2 entries", OpenPatched(bytes => bytes[IncompatibleFeaturesLowByte] = ExtendedL2Entries).Message);

    [Fact]
    public void A_dirty_image_is_refused_read_write_but_opens_read_only()
    {
        Assert.Contains("was not closed cleanly", OpenPatched(bytes => bytes[IncompatibleFeaturesLowByte] = Dirty).Message);

        using var scratch = new ScratchFolder();
        string path = scratch.File("dirty.qcow2");
        QcowImage.Create(path, 1 << 20);
        byte[] bytes = File.ReadAllBytes(path);
        bytes[IncompatibleFeaturesLowByte] = Dirty;
        File.WriteAllBytes(path, bytes);
        using var image = DiskImage.Open(path, DiskImageFormat.Qcow2, readOnly: true);
        Assert.True(image.ReadOnly);
    }

    [Fact]
    public void A_header_too_short_to_be_qcow2_is_refused()
    {
        using var scratch = new ScratchFolder();
        string path = scratch.File("short.qcow2");
        File.WriteAllBytes(path, [0x51, 0x46, 0x49, 0xFB, 0, 0, 0, 3]);

        var error = Assert.Throws<DiskImageException>(() => DiskImage.Open(path, null, readOnly: false));

        Assert.Contains("it is 8 bytes long, too short for a qcow2 header", error.Message);
        Assert.Equal(8, new FileInfo(path).Length);
    }

    [RequiresQemuFact]
    public void An_image_with_internal_snapshots_opens_only_read_only()
    {
        using var scratch = new ScratchFolder();
        string path = scratch.File("snap.qcow2");
        QemuTools.Img("create", "-f", "qcow2", path, "1M");
        QemuTools.Img("snapshot", "-c", "first", path);

        var error = Assert.Throws<DiskImageException>(() => DiskImage.Open(path, null, readOnly: false));
        using var image = DiskImage.Open(path, null, readOnly: true);

        Assert.Contains("has 1 internal snapshot(s), which Vessel can only read", error.Message);
    }
}

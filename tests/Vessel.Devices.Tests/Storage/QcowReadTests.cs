using Vessel.Devices.Storage;
using Vessel.Devices.Storage.Qcow2;

namespace Vessel.Devices.Tests.Storage;

/// <summary>Images qemu-img and qemu-io made read in Vessel exactly as qemu-img converts them to raw.</summary>
public class QcowReadTests
{
    [RequiresQemuTheory]
    [InlineData("compat=1.1")]
    [InlineData("compat=0.10")]
    [InlineData("compat=1.1,cluster_size=512")]
    [InlineData("compat=1.1,cluster_size=2M")]
    [InlineData("compat=1.1,refcount_bits=1")]
    [InlineData("compat=1.1,refcount_bits=64")]
    public void An_image_converted_from_raw_reads_back_the_raw_bytes(string options)
    {
        using var scratch = new ScratchFolder();
        string raw = scratch.RandomRaw("source.raw", 3 << 20, seed: 1);
        string qcow2 = scratch.File("image.qcow2");
        QemuTools.Img("convert", "-f", "raw", "-O", "qcow2", "-o", options, raw, qcow2);

        using var image = DiskImage.Open(qcow2, format: null, readOnly: true);

        Assert.IsType<QcowImage>(image);
        ImageContents.AssertEqual(File.ReadAllBytes(raw), ImageContents.ReadAll(image));
    }

    [RequiresQemuFact]
    public void Data_qemu_io_wrote_reads_the_same_including_zero_clusters_and_unaligned_pieces()
    {
        using var scratch = new ScratchFolder();
        string qcow2 = scratch.File("image.qcow2");
        string reference = scratch.File("reference.raw");
        QemuTools.Img("create", "-f", "qcow2", qcow2, "4M");
        QemuTools.Io(qcow2,
            "-c", "write -P 0xab 0 64k",
            "-c", "write -P 0xcd 100k 3k",
            "-c", "write -P 0x11 1M 256k",
            "-c", "write -z 1088k 64k",
            "-c", "write -P 0x5a 4095k 1k");
        QemuTools.Img("convert", "-f", "qcow2", "-O", "raw", qcow2, reference);

        using var image = DiskImage.Open(qcow2, format: null, readOnly: true);

        ImageContents.AssertEqual(File.ReadAllBytes(reference), ImageContents.ReadAll(image));
    }

    [RequiresQemuTheory]
    [InlineData("compat=1.1")]
    [InlineData("compat=1.1,cluster_size=4k")]
    [InlineData("compat=0.10")]
    public void Compressed_clusters_from_qemu_img_convert_c_inflate_to_the_original(string options)
    {
        using var scratch = new ScratchFolder();
        string raw = scratch.File("source.raw");
        var bytes = new byte[2 << 20];
        var random = new Random(2);
        for (int i = 0; i < bytes.Length; i++)
        {
            // Compressible but not uniform: runs of a few values, so deflate produces real Huffman blocks.
            bytes[i] = (byte)((i / 97 % 7) + (random.Next(4) == 0 ? random.Next(3) : 0));
        }

        File.WriteAllBytes(raw, bytes);
        string qcow2 = scratch.File("compressed.qcow2");
        QemuTools.Img("convert", "-c", "-f", "raw", "-O", "qcow2", "-o", options, raw, qcow2);
        Assert.True(new FileInfo(qcow2).Length < bytes.Length / 2, "qemu-img did not compress the clusters");

        using var image = DiskImage.Open(qcow2, format: null, readOnly: true);

        ImageContents.AssertEqual(bytes, ImageContents.ReadAll(image));
    }

    [RequiresQemuFact]
    public void An_overlay_qemu_made_reads_through_to_its_qcow2_and_raw_backing_files()
    {
        using var scratch = new ScratchFolder();
        string baseRaw = scratch.RandomRaw("base.raw", 2 << 20, seed: 3);
        string middle = scratch.File("middle.qcow2");
        string top = scratch.File("top.qcow2");
        string reference = scratch.File("reference.raw");
        QemuTools.Img("create", "-f", "qcow2", "-b", "base.raw", "-F", "raw", middle);
        QemuTools.Io(middle, "-c", "write -P 0x22 64k 128k");
        QemuTools.Img("create", "-f", "qcow2", "-b", "middle.qcow2", "-F", "qcow2", top, "3M");
        QemuTools.Io(top, "-c", "write -P 0x33 100k 10k", "-c", "write -z 1M 64k", "-c", "write -P 0x44 2560k 4k");
        QemuTools.Img("convert", "-f", "qcow2", "-O", "raw", top, reference);

        using var image = DiskImage.Open(top, format: null, readOnly: true);

        Assert.Equal(3UL << 20, image.Size);
        ImageContents.AssertEqual(File.ReadAllBytes(reference), ImageContents.ReadAll(image));
    }

    [RequiresQemuFact]
    public void A_backing_file_without_a_format_extension_is_probed()
    {
        using var scratch = new ScratchFolder();
        string baseImage = scratch.File("base.qcow2");
        string top = scratch.File("top.qcow2");
        QemuTools.Img("create", "-f", "qcow2", baseImage, "1M");
        QemuTools.Io(baseImage, "-c", "write -P 0x66 0 64k");
        QcowImage.Create(top, 0, "base.qcow2", DiskImageFormat.Qcow2);

        // QEMU 7.2 no longer writes overlays without a format, so turn the backing format extension (first after the
        // 112-byte header) into an unknown one, which readers skip: the backing file's format must then be probed.
        byte[] bytes = File.ReadAllBytes(top);
        Assert.Equal(0xE2792ACAu, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(112)));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(112), 0x7E57_0000);
        File.WriteAllBytes(top, bytes);
        Assert.DoesNotContain("backing file format", QemuTools.Img("info", top));

        using var image = DiskImage.Open(top, format: null, readOnly: true);

        var sector = new byte[512];
        image.Read(0, sector);
        Assert.All(sector, b => Assert.Equal(0x66, b));
    }
}

using Vessel.Devices.Storage;
using Vessel.Devices.Storage.Qcow2;

namespace Vessel.Devices.Tests.Storage;

/// <summary>Images Vessel writes pass <c>qemu-img check</c> and match, byte for byte, a raw file given the same writes.</summary>
public class QcowWriteTests
{
    /// <summary>Applies the same operation to the image and to a raw reference file (zeroes for discard, as Vessel's discard reads).</summary>
    private sealed class Twin(IBlockBackend image, FileStream reference)
    {
        public void Write(ulong offset, byte[] data)
        {
            image.Write(offset, data);
            reference.Position = (long)offset;
            reference.Write(data);
        }

        public void Zero(ulong offset, int length, bool discard)
        {
            if (discard)
            {
                image.Discard(offset, (ulong)length);
            }
            else
            {
                image.WriteZeroes(offset, (ulong)length, mayUnmap: length % 2 == 0);
            }

            reference.Position = (long)offset;
            reference.Write(new byte[length]);
        }
    }

    [RequiresQemuTheory]
    [InlineData("compat=1.1", 8 << 20)]
    [InlineData("compat=0.10", 8 << 20)]
    [InlineData("compat=1.1,cluster_size=512", 4 << 20)]
    [InlineData("compat=1.1,cluster_size=4k,refcount_bits=1", 4 << 20)]
    [InlineData("compat=1.1,refcount_bits=8", 8 << 20)]
    public void Random_writes_zeroes_and_discards_match_a_raw_file_and_pass_qemu_img_check(string options, int size)
    {
        using var scratch = new ScratchFolder();
        string qcow2 = scratch.File("image.qcow2");
        string raw = scratch.RandomRaw("reference.raw", size, seed: null);
        QemuTools.Img("create", "-f", "qcow2", "-o", options, qcow2, size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var random = new Random(4);
        using (var image = DiskImage.Open(qcow2, DiskImageFormat.Qcow2, readOnly: false))
        using (var reference = new FileStream(raw, FileMode.Open))
        {
            var twin = new Twin(image, reference);
            for (int i = 0; i < 300; i++)
            {
                int length = random.Next(1, 96 << 10);
                ulong offset = (ulong)random.NextInt64(0, size - length);
                int kind = random.Next(10);
                if (kind < 7)
                {
                    var data = new byte[length];
                    random.NextBytes(data);
                    twin.Write(offset, data);
                }
                else if (kind < 9)
                {
                    offset &= ~511UL;
                    length = Math.Max(512, length & ~511);
                    twin.Zero(offset, length, discard: false);
                }
                else
                {
                    // Discard drops whole clusters only (a partial one keeps its data), so discard cluster-aligned ranges.
                    int cluster = ((QcowImage)image).ClusterSize;
                    offset -= offset % (ulong)cluster;
                    length = Math.Max(cluster, length - (length % cluster));
                    twin.Zero(offset, (int)Math.Min((ulong)length, (ulong)size - offset), discard: true);
                }

                if (i % 50 == 0)
                {
                    image.Flush();
                }
            }

            reference.Flush();
            ImageContents.AssertEqual(File.ReadAllBytes(raw), ImageContents.ReadAll(image));
        }

        QemuTools.AssertCheckPasses(qcow2);
        QemuTools.AssertSameContents(qcow2, raw);
    }

    [RequiresQemuFact]
    public void A_write_across_a_cluster_and_an_L2_table_boundary_lands_on_both_sides()
    {
        using var scratch = new ScratchFolder();
        string qcow2 = scratch.File("image.qcow2");
        string raw = scratch.RandomRaw("reference.raw", 1 << 20, seed: null);

        // 512-byte clusters: an L2 table maps 64 clusters, so 32 KiB is both a cluster and an L2 boundary.
        QemuTools.Img("create", "-f", "qcow2", "-o", "cluster_size=512", qcow2, "1M");
        var data = new byte[1000];
        new Random(5).NextBytes(data);
        using (var image = DiskImage.Open(qcow2, DiskImageFormat.Qcow2, readOnly: false))
        {
            image.Write((32 << 10) - 300, data);
            image.Write(1000, data);
        }

        using (var reference = new FileStream(raw, FileMode.Open))
        {
            reference.Position = (32 << 10) - 300;
            reference.Write(data);
            reference.Position = 1000;
            reference.Write(data);
        }

        QemuTools.AssertCheckPasses(qcow2);
        QemuTools.AssertSameContents(qcow2, raw);
    }

    [RequiresQemuFact]
    public void A_write_straddling_the_512_MiB_L2_boundary_of_64_KiB_clusters_reads_back_in_QEMU()
    {
        using var scratch = new ScratchFolder();
        string qcow2 = scratch.File("image.qcow2");
        QcowImage.Create(qcow2, 1UL << 30);
        var data = new byte[128 << 10];
        new Random(6).NextBytes(data);
        ulong offset = (512UL << 20) - (64 << 10) - 4096;
        using (var image = DiskImage.Open(qcow2, DiskImageFormat.Qcow2, readOnly: false))
        {
            image.Write(offset, data);
        }

        QemuTools.AssertCheckPasses(qcow2);
        string readBack = scratch.File("read.raw");
        QemuTools.Img("convert", "-f", "qcow2", "-O", "raw", qcow2, readBack);
        var written = new byte[data.Length];
        using (var stream = File.OpenRead(readBack))
        {
            stream.Position = (long)offset;
            stream.ReadExactly(written);
        }

        ImageContents.AssertEqual(data, written);
    }

    [RequiresQemuFact]
    public void Filling_an_image_of_small_clusters_grows_the_refcount_table_and_stays_consistent()
    {
        using var scratch = new ScratchFolder();
        string qcow2 = scratch.File("image.qcow2");
        const int size = 12 << 20;
        string raw = scratch.RandomRaw("reference.raw", size, seed: 7);

        // 512-byte clusters and 16-bit refcounts: one refcount table cluster covers 64 blocks of 256 clusters, 8 MiB of file.
        QemuTools.Img("create", "-f", "qcow2", "-o", "cluster_size=512", qcow2, "12M");
        string before = QemuTools.Img("info", "--output=json", qcow2);
        var bytes = File.ReadAllBytes(raw);
        using (var image = DiskImage.Open(qcow2, DiskImageFormat.Qcow2, readOnly: false))
        {
            for (int offset = 0; offset < size; offset += 256 << 10)
            {
                image.Write((ulong)offset, bytes.AsSpan(offset, 256 << 10));
            }
        }

        Assert.True(new FileInfo(qcow2).Length > 8 << 20);
        QemuTools.AssertCheckPasses(qcow2);
        QemuTools.AssertSameContents(qcow2, raw);
        Assert.Contains("\"virtual-size\": 12582912", before);
    }

    [RequiresQemuFact]
    public void An_overlay_Vessel_creates_over_a_raw_base_keeps_the_base_pristine_and_reads_in_QEMU()
    {
        using var scratch = new ScratchFolder();
        string baseRaw = scratch.RandomRaw("base.raw", 4 << 20, seed: 8);
        byte[] pristine = File.ReadAllBytes(baseRaw);
        string overlay = scratch.File("overlay.qcow2");
        string expected = scratch.File("expected.raw");
        File.Copy(baseRaw, expected);
        QcowImage.Create(overlay, 0, "base.raw", DiskImageFormat.Raw);
        var data = new byte[5000];
        new Random(9).NextBytes(data);
        using (var image = DiskImage.Open(overlay, format: null, readOnly: false))
        using (var reference = new FileStream(expected, FileMode.Open))
        {
            var twin = new Twin(image, reference);
            twin.Write(70_000, data);
            twin.Write((4 << 20) - 5000, data);
            twin.Zero(1 << 20, 128 << 10, discard: false);
            twin.Zero(2 << 20, 64 << 10, discard: true);
        }

        Assert.Equal(pristine, File.ReadAllBytes(baseRaw));
        QemuTools.AssertCheckPasses(overlay);
        QemuTools.AssertSameContents(overlay, expected);
    }

    [RequiresQemuFact]
    public void An_overlay_on_a_qcow2_backing_file_made_by_QEMU_reads_and_writes_through_the_chain()
    {
        using var scratch = new ScratchFolder();
        string baseImage = scratch.File("base.qcow2");
        string overlay = scratch.File("overlay.qcow2");
        string expected = scratch.File("expected.raw");
        QemuTools.Img("create", "-f", "qcow2", baseImage, "2M");
        QemuTools.Io(baseImage, "-c", "write -P 0x77 0 1M");
        QcowImage.Create(overlay, 0, baseImage, backingFormat: null);
        var data = new byte[3000];
        new Random(10).NextBytes(data);
        using (var image = DiskImage.Open(overlay, format: null, readOnly: false))
        {
            image.Write(65_000, data);
        }

        QemuTools.Img("convert", "-f", "qcow2", "-O", "raw", baseImage, expected);
        using (var reference = new FileStream(expected, FileMode.Open))
        {
            reference.Position = 65_000;
            reference.Write(data);
        }

        QemuTools.AssertCheckPasses(overlay);
        QemuTools.AssertSameContents(overlay, expected);
        string info = QemuTools.Img("info", overlay);
        Assert.Contains("backing file format: qcow2", info);
    }

    [RequiresQemuFact]
    public void Writing_over_compressed_clusters_reallocates_them_and_frees_the_compressed_data()
    {
        using var scratch = new ScratchFolder();
        string raw = scratch.File("reference.raw");
        var bytes = new byte[1 << 20];
        for (int i = 0; i < bytes.Length; i++)
        {
            bytes[i] = (byte)(i / 333);
        }

        File.WriteAllBytes(raw, bytes);
        string qcow2 = scratch.File("compressed.qcow2");
        QemuTools.Img("convert", "-c", "-f", "raw", "-O", "qcow2", raw, qcow2);
        var data = new byte[100];
        new Random(11).NextBytes(data);
        using (var image = DiskImage.Open(qcow2, DiskImageFormat.Qcow2, readOnly: false))
        using (var reference = new FileStream(raw, FileMode.Open))
        {
            var twin = new Twin(image, reference);
            for (int cluster = 0; cluster < 16; cluster++)
            {
                twin.Write((ulong)(cluster * 65536) + 10, data);
            }
        }

        QemuTools.AssertCheckPasses(qcow2);
        QemuTools.AssertSameContents(qcow2, raw);
    }

    [RequiresQemuFact]
    public void Discarded_clusters_are_reused_after_a_flush_so_the_file_does_not_grow()
    {
        using var scratch = new ScratchFolder();
        string qcow2 = scratch.File("image.qcow2");
        QcowImage.Create(qcow2, 64 << 20);
        var data = new byte[4 << 20];
        new Random(12).NextBytes(data);
        long lengthAfterFirstWrite;
        using (var image = DiskImage.Open(qcow2, DiskImageFormat.Qcow2, readOnly: false))
        {
            image.Write(0, data);
            image.Flush();
            lengthAfterFirstWrite = new FileInfo(qcow2).Length;
            image.Discard(0, (ulong)data.Length);
            image.Flush();
            image.Write(32 << 20, data);

            var back = new byte[data.Length];
            image.Read(0, back);
            Assert.All(back, b => Assert.Equal(0, b));
        }

        Assert.Equal(lengthAfterFirstWrite, new FileInfo(qcow2).Length);
        var (status, output) = QemuTools.TryImg("check", qcow2);
        Assert.True(status == 0, output);
    }

    [RequiresQemuFact]
    public void Write_zeroes_without_unmap_keeps_the_clusters_allocated_but_reads_zeroes_in_QEMU()
    {
        using var scratch = new ScratchFolder();
        string qcow2 = scratch.File("image.qcow2");
        QcowImage.Create(qcow2, 8 << 20);
        var data = new byte[1 << 20];
        new Random(13).NextBytes(data);
        using (var image = DiskImage.Open(qcow2, DiskImageFormat.Qcow2, readOnly: false))
        {
            image.Write(0, data);
            image.WriteZeroes(0, 1 << 20, mayUnmap: false);
        }

        QemuTools.AssertCheckPasses(qcow2);
        string map = QemuTools.Img("map", "--output=json", qcow2);
        Assert.Contains("\"zero\": true, \"data\": false", map.Replace("\"present\": true, ", string.Empty));
        string zero = scratch.RandomRaw("zero.raw", 8 << 20, seed: null);
        QemuTools.AssertSameContents(qcow2, zero);
    }

    [RequiresQemuFact]
    public void Threads_writing_and_reading_their_own_regions_at_once_leave_a_consistent_image()
    {
        using var scratch = new ScratchFolder();
        string qcow2 = scratch.File("image.qcow2");
        const int threads = 4;
        const int region = 2 << 20;
        string raw = scratch.RandomRaw("reference.raw", threads * region, seed: 20);
        byte[] expected = File.ReadAllBytes(raw);
        QemuTools.Img("create", "-f", "qcow2", "-o", "cluster_size=4k", qcow2, (threads * region).ToString(System.Globalization.CultureInfo.InvariantCulture));
        using (var image = DiskImage.Open(qcow2, DiskImageFormat.Qcow2, readOnly: false))
        {
            var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
            var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
            {
                try
                {
                    WriteAndReadRegion(image, expected, t, region);
                }
                catch (Exception exception)
                {
                    failures.Enqueue(exception);
                }
            })).ToList();
            workers.ForEach(worker => worker.Start());
            Assert.All(workers, worker => Assert.True(worker.Join(TimeSpan.FromMinutes(3))));
            Assert.Empty(failures);
        }

        QemuTools.AssertCheckPasses(qcow2);
        QemuTools.AssertSameContents(qcow2, raw);
    }

    private static void WriteAndReadRegion(IBlockBackend image, byte[] expected, int index, int region)
    {
        var random = new Random(index);
        var back = new byte[48 << 10];
        for (int i = 0; i < 200; i++)
        {
            int length = random.Next(1, back.Length);
            int offset = (index * region) + random.Next(0, region - length);
            image.Write((ulong)offset, expected.AsSpan(offset, length));
            image.Read((ulong)offset, back.AsSpan(0, length));
            Assert.True(back.AsSpan(0, length).SequenceEqual(expected.AsSpan(offset, length)));
        }

        image.Write((ulong)(index * region), expected.AsSpan(index * region, region));
    }
}

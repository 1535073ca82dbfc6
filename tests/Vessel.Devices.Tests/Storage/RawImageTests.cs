using Vessel.Devices.Storage;
using Vessel.Devices.Storage.Raw;

namespace Vessel.Devices.Tests.Storage;

/// <summary>Raw images: guest byte N is file byte N, holes stay holes, discard punches them.</summary>
public class RawImageTests
{
    /// <summary>Bytes the file system has allocated to the file (st_blocks × 512), from stat(1).</summary>
    private static long AllocatedBytes(string path) =>
        long.Parse(QemuTools.Run("stat", ["-c", "%b", path]).Output.Trim(), System.Globalization.CultureInfo.InvariantCulture) * 512;

    [Fact]
    public void Writes_land_at_the_same_offset_in_the_file_and_read_back()
    {
        using var scratch = new ScratchFolder();
        string path = scratch.RandomRaw("disk.raw", 1 << 20, seed: null);
        var data = new byte[3000];
        new Random(1).NextBytes(data);

        using (var image = DiskImage.Open(path, DiskImageFormat.Raw, readOnly: false))
        {
            Assert.IsType<RawImage>(image);
            Assert.Equal(1UL << 20, image.Size);
            image.Write(12_345, data);
            image.Flush();
            var back = new byte[data.Length];
            image.Read(12_345, back);
            Assert.Equal(data, back);
        }

        Assert.Equal(data, File.ReadAllBytes(path).AsSpan(12_345, data.Length).ToArray());
    }

    [Fact]
    public void A_sparse_file_stays_sparse_and_discard_punches_the_hole_back()
    {
        using var scratch = new ScratchFolder();
        string path = scratch.RandomRaw("disk.raw", 64 << 20, seed: null);
        long emptyAllocation = AllocatedBytes(path);
        var data = new byte[1 << 20];
        new Random(2).NextBytes(data);

        using var image = DiskImage.Open(path, null, readOnly: false);
        image.Write(32 << 20, data);
        image.Flush();
        long written = AllocatedBytes(path);
        image.Discard(32 << 20, 1 << 20);
        long discarded = AllocatedBytes(path);

        Assert.InRange(written - emptyAllocation, 1 << 20, 2 << 20);
        Assert.True(discarded < written - (512 << 10), $"discard left {discarded} bytes allocated (was {written})");
        var back = new byte[4096];
        image.Read(32 << 20, back);
        Assert.All(back, b => Assert.Equal(0, b));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Write_zeroes_reads_back_zeroes_and_leaves_the_neighbours(bool mayUnmap)
    {
        using var scratch = new ScratchFolder();
        string path = scratch.RandomRaw("disk.raw", 1 << 20, seed: 3);
        byte[] original = File.ReadAllBytes(path);

        using (var image = DiskImage.Open(path, null, readOnly: false))
        {
            image.WriteZeroes(4096, 8192, mayUnmap);
        }

        byte[] after = File.ReadAllBytes(path);
        Assert.All(after.AsSpan(4096, 8192).ToArray(), b => Assert.Equal(0, b));
        Assert.Equal(original.AsSpan(0, 4096).ToArray(), after.AsSpan(0, 4096).ToArray());
        Assert.Equal(original.AsSpan(12288).ToArray(), after.AsSpan(12288).ToArray());
    }

    [Fact]
    public void A_two_tebibyte_sparse_image_reads_and_writes_its_last_sector()
    {
        using var scratch = new ScratchFolder();
        string path = scratch.RandomRaw("huge.raw", 0, seed: null);
        const ulong size = 2UL << 40;
        using (var stream = new FileStream(path, FileMode.Open))
        {
            stream.SetLength((long)size);
        }

        using var image = DiskImage.Open(path, null, readOnly: false);
        var sector = new byte[512];
        sector.AsSpan().Fill(0xEE);
        image.Write(size - 512, sector);
        var back = new byte[512];
        image.Read(size - 512, back);

        Assert.Equal(size, image.Size);
        Assert.Equal(sector, back);
        Assert.True(AllocatedBytes(path) < 1 << 20);
    }

    [Fact]
    public void Accesses_past_the_end_are_refused_without_touching_the_file()
    {
        using var scratch = new ScratchFolder();
        string path = scratch.RandomRaw("disk.raw", 4096, seed: 4);
        using var image = DiskImage.Open(path, null, readOnly: false);

        Assert.Throws<ArgumentOutOfRangeException>(() => image.Write(4000, new byte[200]));
        Assert.Throws<ArgumentOutOfRangeException>(() => image.Read(ulong.MaxValue - 10, new byte[20]));
        Assert.Throws<ArgumentOutOfRangeException>(() => image.Discard(4096, 1));
        Assert.Equal(4096, new FileInfo(path).Length);
    }

    [Fact]
    public void A_read_only_image_refuses_writes_discards_and_write_zeroes()
    {
        using var scratch = new ScratchFolder();
        string path = scratch.RandomRaw("disk.raw", 4096, seed: 5);
        byte[] original = File.ReadAllBytes(path);
        using var image = DiskImage.Open(path, null, readOnly: true);

        Assert.True(image.ReadOnly);
        Assert.Throws<InvalidOperationException>(() => image.Write(0, new byte[512]));
        Assert.Throws<InvalidOperationException>(() => image.Discard(0, 512));
        Assert.Throws<InvalidOperationException>(() => image.WriteZeroes(0, 512, mayUnmap: true));
        Assert.Equal(original, File.ReadAllBytes(path));
    }
}

using Vessel.Devices.Storage;
using Vessel.Vmm.Configuration;
using Vessel.Vmm.Images;

namespace Vessel.Vmm.Tests.Images;

public sealed class DemoDiskTests : IDisposable
{
    private const int BaseSize = 4 << 20;

    private readonly DirectoryInfo work = Directory.CreateTempSubdirectory("vessel-demo-disk.");
    private readonly List<string> reports = [];
    private readonly GuestImages images;

    public DemoDiskTests()
    {
        var cache = work.CreateSubdirectory("cache");
        images = new GuestImages(cache.FullName, "6.1.0-test-cloud-amd64", "linux-image-test", "1:1.35");
        WriteBase(0x5A);
    }

    private string DemoDirectory => Path.Combine(work.FullName, "demo");

    public void Dispose() => work.Delete(recursive: true);

    [Fact]
    public void The_first_use_makes_a_small_qcow2_overlay_that_reads_as_the_base()
    {
        var disk = DemoDisk.Prepare(images, DemoDirectory, fresh: false, reports.Add);

        Assert.Equal(DemoDisk.DiskId, disk.Id);
        Assert.Equal(DiskImageFormat.Qcow2, disk.Format);
        Assert.False(disk.ReadOnly);
        Assert.Equal(File.ReadAllBytes(images.RootfsPath), ReadDisk(disk.Path));
        Assert.Contains("made the demo's disk", Assert.Single(reports), StringComparison.Ordinal);
        Assert.True(new FileInfo(disk.Path).Length < BaseSize / 4, $"the overlay is {new FileInfo(disk.Path).Length} bytes");
    }

    [Fact]
    public void A_later_use_keeps_what_was_written_on_the_disk_and_the_base_stays_pristine()
    {
        byte[] pristine = File.ReadAllBytes(images.RootfsPath);
        string path = DemoDisk.Prepare(images, DemoDirectory, fresh: false, reports.Add).Path;
        WriteDisk(path, 4096, "written by the guest"u8);

        var again = DemoDisk.Prepare(images, DemoDirectory, fresh: false, reports.Add);

        Assert.Equal(path, again.Path);
        Assert.Equal("written by the guest"u8.ToArray(), ReadDisk(path).AsSpan(4096, 20).ToArray());
        Assert.Equal(pristine, File.ReadAllBytes(images.RootfsPath));
        Assert.Single(reports);
    }

    [Fact]
    public void Fresh_discards_what_was_written_and_starts_again_from_the_base()
    {
        string path = DemoDisk.Prepare(images, DemoDirectory, fresh: false, reports.Add).Path;
        WriteDisk(path, 4096, "written by the guest"u8);

        DemoDisk.Prepare(images, DemoDirectory, fresh: true, reports.Add);

        Assert.Equal(File.ReadAllBytes(images.RootfsPath), ReadDisk(path));
        Assert.Contains(reports, report => report.StartsWith("discarded the demo's disk", StringComparison.Ordinal));
    }

    [Fact]
    public void A_rebuilt_base_starts_a_new_overlay_and_keeps_the_old_one_aside()
    {
        string path = DemoDisk.Prepare(images, DemoDirectory, fresh: false, reports.Add).Path;
        WriteDisk(path, 4096, "written by the guest"u8);
        WriteBase(0x77);
        File.SetLastWriteTimeUtc(images.RootfsPath, DateTime.UtcNow.AddMinutes(1));

        DemoDisk.Prepare(images, DemoDirectory, fresh: false, reports.Add);

        Assert.Equal(File.ReadAllBytes(images.RootfsPath), ReadDisk(path));
        Assert.Equal("written by the guest"u8.ToArray(), ReadDisk(path + ".old").AsSpan(4096, 20).ToArray());
        Assert.Contains(reports, report => report.Contains("changed since", StringComparison.Ordinal));
    }

    [Fact]
    public void An_unwritable_demo_folder_is_reported_with_its_path()
    {
        string blocker = Path.Combine(work.FullName, "a-file");
        File.WriteAllText(blocker, string.Empty);
        string directory = Path.Combine(blocker, "demo");

        var error = Assert.Throws<ConfigurationException>(() => DemoDisk.Prepare(images, directory, fresh: false, reports.Add));

        Assert.Contains(directory, error.Message, StringComparison.Ordinal);
        Assert.Contains("--no-disk", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A sparse base: a marker block at the start and one in the middle, zeroes elsewhere.</summary>
    private void WriteBase(byte marker)
    {
        using (var file = File.Create(images.RootfsPath))
        {
            file.SetLength(BaseSize);
        }

        WriteAt(images.RootfsPath, 0, Enumerable.Repeat(marker, 8192).ToArray());
        WriteAt(images.RootfsPath, BaseSize / 2, Enumerable.Repeat(marker, 100).ToArray());
    }

    private static void WriteAt(string path, long offset, ReadOnlySpan<byte> data)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Write);
        RandomAccess.Write(handle, data, offset);
    }

    /// <summary>The whole disk as a guest reads it, through Vessel's own image code (overlay and backing file).</summary>
    private static byte[] ReadDisk(string path)
    {
        using var disk = DiskImage.Open(path, null, readOnly: true);
        var bytes = new byte[disk.Size];
        disk.Read(0, bytes);
        return bytes;
    }

    private static void WriteDisk(string path, ulong offset, ReadOnlySpan<byte> data)
    {
        using var disk = DiskImage.Open(path, DiskImageFormat.Qcow2, readOnly: false);
        disk.Write(offset, data);
        disk.Flush();
    }
}

using System.Diagnostics;
using Vessel.Devices.Storage;
using Vessel.Devices.Storage.Qcow2;

namespace Vessel.Devices.Tests.Storage;

/// <summary>Image locking: one writer or many readers, and QEMU's locks and Vessel's see each other both ways.</summary>
public class ImageLockTests
{
    [Fact]
    public void Two_read_write_opens_of_one_image_conflict()
    {
        using var scratch = new ScratchFolder();
        string path = scratch.File("disk.qcow2");
        QcowImage.Create(path, 1 << 20);

        using var first = DiskImage.Open(path, null, readOnly: false);
        var error = Assert.Throws<DiskImageException>(() => DiskImage.Open(path, null, readOnly: false));

        Assert.StartsWith($"Disk image '{path}' is locked: another process", error.Message);
        Assert.EndsWith("stop that process first, since two programs writing one image corrupt it.", error.Message);
    }

    [Fact]
    public void Two_read_only_opens_share_an_image_but_a_writer_is_kept_out()
    {
        using var scratch = new ScratchFolder();
        string path = scratch.RandomRaw("disk.raw", 1 << 20, seed: 1);

        using var first = DiskImage.Open(path, null, readOnly: true);
        using var second = DiskImage.Open(path, null, readOnly: true);

        Assert.Throws<DiskImageException>(() => DiskImage.Open(path, null, readOnly: false));
    }

    [Fact]
    public void A_reader_is_kept_out_while_a_writer_holds_the_image_and_let_in_after_it_closes()
    {
        using var scratch = new ScratchFolder();
        string path = scratch.RandomRaw("disk.raw", 1 << 20, seed: 2);

        var writer = DiskImage.Open(path, null, readOnly: false);
        Assert.Throws<DiskImageException>(() => DiskImage.Open(path, null, readOnly: true));
        writer.Dispose();

        using var reader = DiskImage.Open(path, null, readOnly: true);
        Assert.True(reader.ReadOnly);
    }

    [Fact]
    public void A_backing_file_in_use_by_an_overlay_cannot_be_opened_for_writing()
    {
        using var scratch = new ScratchFolder();
        string baseRaw = scratch.RandomRaw("base.raw", 1 << 20, seed: 3);
        string overlay = scratch.File("overlay.qcow2");
        QcowImage.Create(overlay, 0, "base.raw", DiskImageFormat.Raw);

        using var image = DiskImage.Open(overlay, null, readOnly: false);

        Assert.Throws<DiskImageException>(() => DiskImage.Open(baseRaw, DiskImageFormat.Raw, readOnly: false));
    }

    [RequiresQemuFact]
    public void QEMU_refuses_an_image_Vessel_has_open_for_writing()
    {
        using var scratch = new ScratchFolder();
        string path = scratch.File("disk.qcow2");
        QcowImage.Create(path, 1 << 20);

        using (var image = DiskImage.Open(path, null, readOnly: false))
        {
            var (status, output) = QemuTools.TryImg("info", path);
            Assert.NotEqual(0, status);
            Assert.Contains("Failed to get shared \"write\" lock", output);
        }

        QemuTools.Img("info", path);
    }

    [RequiresQemuTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void Vessel_refuses_an_image_qemu_io_holds_open_for_writing(bool readOnly)
    {
        using var scratch = new ScratchFolder();
        string path = scratch.File("disk.qcow2");
        QemuTools.Img("create", "-f", "qcow2", path, "1M");
        var start = new ProcessStartInfo("qemu-io") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in new[] { "-c", "sleep 600000", path })
        {
            start.ArgumentList.Add(arg);
        }

        using var qemu = Process.Start(start)!;
        try
        {
            // Wait (bounded) until qemu-io's locks show in /proc/locks, without opening the image ourselves meanwhile.
            string inode = QemuTools.Run("stat", ["-c", "%i", path]).Output.Trim();
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
            while (!File.ReadAllText("/proc/locks").Contains($":{inode} ", StringComparison.Ordinal) && DateTime.UtcNow < deadline && !qemu.HasExited)
            {
                Thread.Sleep(20);
            }

            var refusal = Assert.Throws<DiskImageException>(() => DiskImage.Open(path, null, readOnly));

            Assert.Contains($"Disk image '{path}' is locked: another process", refusal.Message);
        }
        finally
        {
            qemu.Kill();
            qemu.WaitForExit(TimeSpan.FromMinutes(1));
        }

        using var afterwards = DiskImage.Open(path, null, readOnly);
    }
}

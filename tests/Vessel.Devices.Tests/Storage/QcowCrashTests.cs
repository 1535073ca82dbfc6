using Vessel.Devices.Storage.Qcow2;

namespace Vessel.Devices.Tests.Storage;

/// <summary>A process killed with SIGKILL in the middle of writing leaves an image qemu-img check finds no error in (leaks allowed).</summary>
public class QcowCrashTests
{
    [RequiresQemuTheory]
    [InlineData(1, 40)]
    [InlineData(2, 200)]
    [InlineData(3, 700)]
    public async Task An_image_killed_mid_write_has_no_errors_in_qemu_img_check(int seed, int operationsBeforeKill)
    {
        using var scratch = new ScratchFolder();
        string qcow2 = scratch.File("image.qcow2");

        // 4 KiB clusters: many allocations, L2 tables and refcount blocks in a few hundred operations.
        QemuTools.Img("create", "-f", "qcow2", "-o", "cluster_size=4k", qcow2, "64M");
        using var writer = DiskWriterProcess.Start(["write-loop", qcow2, seed.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        var errors = writer.StandardError.ReadToEndAsync();
        int reported = -1;
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        try
        {
            while (reported < operationsBeforeKill && DateTime.UtcNow < deadline)
            {
                string? line = await writer.StandardOutput.ReadLineAsync().WaitAsync(deadline - DateTime.UtcNow);
                if (line == null)
                {
                    break;
                }

                reported = int.Parse(line, System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        catch (TimeoutException)
        {
        }

        bool exitedEarly = writer.HasExited;
        writer.Kill();
        Assert.True(writer.WaitForExit(TimeSpan.FromMinutes(1)));
        Assert.False(exitedEarly, $"The writer exited early: {await errors}");
        Assert.True(reported >= operationsBeforeKill, $"The writer reported only {reported} operations in 3 minutes: {await errors}");

        QemuTools.AssertCheckPasses(qcow2, allowLeaks: true);
        using var image = Vessel.Devices.Storage.DiskImage.Open(qcow2, format: null, readOnly: false);
        Assert.IsType<QcowImage>(image);
    }
}

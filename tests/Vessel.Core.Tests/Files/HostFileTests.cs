using System.Diagnostics;
using Vessel.Core.Files;

namespace Vessel.Core.Tests.Files;

public class HostFileTests
{
    private const long Limit = 1L << 20;

    [Fact]
    public void A_regular_file_within_the_limit_is_read_whole()
    {
        string path = Path.GetTempFileName();
        var content = new byte[100_000];
        new Random(7).NextBytes(content);
        File.WriteAllBytes(path, content);
        try
        {
            Assert.Equal(content, HostFile.ReadAll(path, "--kernel", "a kernel", Limit, "the test's limit"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_file_larger_than_the_limit_is_refused_with_both_sizes()
    {
        string path = Path.GetTempFileName();
        File.WriteAllBytes(path, new byte[Limit + 1]);
        try
        {
            var error = Assert.Throws<HostFileException>(() => HostFile.ReadAll(path, "--initrd", "an initramfs", Limit, "the guest's 1 MiB of memory"));

            Assert.Equal($"--initrd: '{path}' is 1 MiB, more than the guest's 1 MiB of memory can hold (1 MiB). Give a smaller file or more memory.", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("/dev/zero", "a character device")]
    [InlineData("/dev/urandom", "a character device")]
    [InlineData("/tmp", "a directory")]
    public void An_endless_device_or_a_directory_is_refused_before_anything_is_read(string path, string what)
    {
        var error = Assert.Throws<HostFileException>(() => HostFile.ReadAll(path, "--kernel", "a kernel image", Limit, "the limit"));

        Assert.Equal($"--kernel: '{path}' is {what}, not a regular file. Give the path of a kernel image.", error.Message);
    }

    [Fact]
    public void A_fifo_nobody_writes_to_is_refused_without_blocking()
    {
        string directory = Directory.CreateTempSubdirectory("vessel-fifo-").FullName;
        string path = Path.Combine(directory, "kernel");
        try
        {
            using (var mkfifo = Process.Start("mkfifo", [path]))
            {
                Assert.True(mkfifo.WaitForExit(30_000));
                Assert.Equal(0, mkfifo.ExitCode);
            }

            // On a thread of its own, so that a regression shows as a failure here rather than a test run that never ends.
            Exception? error = null;
            var attempt = new Thread(() => error = Record.Exception(() => HostFile.ReadAll(path, "--kernel", "a kernel image", Limit, "the limit")))
            {
                IsBackground = true,
            };
            attempt.Start();
            Assert.True(attempt.Join(TimeSpan.FromSeconds(60)), "opening the FIFO blocked");
            Assert.Equal($"--kernel: '{path}' is a FIFO (named pipe), not a regular file. Give the path of a kernel image.", Assert.IsType<HostFileException>(error).Message);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void A_missing_file_is_named_with_what_to_give_instead()
    {
        string path = Path.Combine(Path.GetTempPath(), $"vessel-missing-{Guid.NewGuid():N}");

        var error = Assert.Throws<HostFileException>(() => HostFile.Check(path, "--kernel", "a kernel image", Limit, "the limit"));

        Assert.Equal($"--kernel: '{path}' does not exist. Give the path of a kernel image.", error.Message);
    }
}

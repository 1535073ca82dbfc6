using Vessel.Cli.Commands;
using Vessel.Devices.Storage;
using Vessel.Devices.Storage.Qcow2;

namespace Vessel.Cli.Tests;

/// <summary><c>vessel disk create</c> end to end, in process: arguments in, exit status, output and the image out.</summary>
[Collection("Console")]
public sealed class DiskCommandTests : IDisposable
{
    private readonly DirectoryInfo folder = Directory.CreateTempSubdirectory("vessel-disk-cli-");

    public void Dispose() => folder.Delete(recursive: true);

    private static (int Status, string Output, string Errors) Invoke(params string[] args)
    {
        var output = new StringWriter();
        var errors = new StringWriter();
        var previousOut = Console.Out;
        var previousError = Console.Error;
        Console.SetOut(output);
        Console.SetError(errors);
        try
        {
            int status = Program.Main(args);
            return (status, output.ToString(), errors.ToString());
        }
        finally
        {
            Console.SetOut(previousOut);
            Console.SetError(previousError);
        }
    }

    private string File(string name) => Path.Combine(folder.FullName, name);

    [Fact]
    public void Create_makes_a_qcow2_image_of_the_given_size()
    {
        string path = File("disk.qcow2");

        var (status, output, errors) = Invoke("disk", "create", path, "10G");

        Assert.True(status == 0, errors);
        Assert.Equal($"Created '{path}': qcow2, 10737418240 bytes.", output.Trim());
        using var image = DiskImage.Open(path, null, readOnly: true);
        Assert.IsType<QcowImage>(image);
        Assert.Equal(10UL << 30, image.Size);
    }

    [Fact]
    public void An_overlay_takes_its_size_from_the_backing_file_and_records_a_relative_name()
    {
        string baseImage = File("base.raw");
        using (var stream = new FileStream(baseImage, FileMode.CreateNew))
        {
            stream.SetLength(3 << 20);
        }

        string overlay = File("overlay.qcow2");

        var (status, _, errors) = Invoke("disk", "create", overlay, "--backing", "base.raw", "--backing-format", "raw");

        Assert.True(status == 0, errors);
        using var image = (QcowImage)DiskImage.Open(overlay, null, readOnly: true);
        Assert.Equal(3UL << 20, image.Size);
        Assert.Equal("base.raw", image.BackingFile);
    }

    [Fact]
    public void An_existing_file_is_never_overwritten()
    {
        string path = File("precious.img");
        System.IO.File.WriteAllText(path, "data");

        var (status, _, errors) = Invoke("disk", "create", path, "1G");

        Assert.Equal(1, status);
        Assert.Equal($"vessel: '{path}' already exists; Vessel does not overwrite images, so choose another name or delete it first.", errors.Trim());
        Assert.Equal("data", System.IO.File.ReadAllText(path));
    }

    [Fact]
    public void A_missing_backing_file_fails_with_status_1_and_creates_nothing()
    {
        string path = File("overlay.qcow2");

        var (status, _, errors) = Invoke("disk", "create", path, "--backing", File("nope.raw"));

        Assert.Equal(1, status);
        Assert.Contains($"Backing file '{File("nope.raw")}' does not exist", errors);
        Assert.False(System.IO.File.Exists(path));
    }

    [Fact]
    public void A_bad_size_fails_with_status_1_and_a_missing_size_is_a_usage_error()
    {
        var (badStatus, _, badErrors) = Invoke("disk", "create", File("a.qcow2"), "lots");
        var (missingStatus, _, missingErrors) = Invoke("disk", "create", File("b.qcow2"));
        var (formatStatus, _, _) = Invoke("disk", "create", File("c.qcow2"), "1G", "--backing", "x", "--backing-format", "vmdk");

        Assert.Equal(1, badStatus);
        Assert.Contains("SIZE: 'lots' is not a size", badErrors);
        Assert.Equal(Program.UsageErrorStatus, missingStatus);
        Assert.Contains("needs a SIZE", missingErrors);
        Assert.Equal(Program.UsageErrorStatus, formatStatus);
        Assert.Empty(folder.GetFiles());
    }

    [Theory]
    [InlineData("512", 512UL)]
    [InlineData("64K", 64UL << 10)]
    [InlineData("512M", 512UL << 20)]
    [InlineData("10G", 10UL << 30)]
    [InlineData("2TiB", 2UL << 40)]
    public void Sizes_follow_qemu_img_a_bare_number_is_bytes(string text, ulong expected)
    {
        Assert.True(DiskCommand.TryParseSize(text, out ulong bytes));
        Assert.Equal(expected, bytes);
    }
}

namespace Vessel.Cli.Tests;

/// <summary><c>vessel snapshot create</c> and <c>vessel restore</c>, in process: what they refuse and how they say it.</summary>
[Collection("Console")]
public class SnapshotCommandTests
{
    private static (int Status, string Errors) Invoke(params string[] args)
    {
        var errors = new StringWriter();
        var previous = Console.Error;
        Console.SetError(errors);
        try
        {
            return (Program.Main(args), errors.ToString());
        }
        finally
        {
            Console.SetError(previous);
        }
    }

    [Fact]
    public void Restore_without_an_api_socket_needs_resume_and_says_so_with_status_2()
    {
        var (status, errors) = Invoke("restore", "--snapshot-path", "/tmp/none.snap", "--mem-file-path", "/tmp/none.mem");

        Assert.Equal(Program.UsageErrorStatus, status);
        Assert.Contains("--resume", errors);
    }

    [Fact]
    public void Restoring_a_missing_snapshot_fails_with_status_1_naming_the_file()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"vessel-missing-{Guid.NewGuid():N}.snap");

        var (status, errors) = Invoke("restore", "--resume", "--snapshot-path", missing, "--mem-file-path", missing + ".mem");

        Assert.Equal(1, status);
        Assert.Contains(missing, errors);
        Assert.DoesNotContain("   at ", errors);
    }

    [Fact]
    public void Restoring_a_file_that_is_not_a_snapshot_fails_with_status_1_saying_so()
    {
        string path = Path.GetTempFileName();
        File.WriteAllText(path, "not a snapshot, but long enough to hold a header and a checksum, and then some more");
        try
        {
            var (status, errors) = Invoke("restore", "--resume", "--snapshot-path", path, "--mem-file-path", path);

            Assert.Equal(1, status);
            Assert.Contains("does not start with a Vessel snapshot header", errors);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Snapshot_create_against_a_socket_nobody_serves_fails_with_status_1_naming_it()
    {
        string socket = Path.Combine(Path.GetTempPath(), $"vessel-nobody-{Guid.NewGuid():N}.sock");

        var (status, errors) = Invoke("snapshot", "create", "--api-sock", socket, "--snapshot-path", "/tmp/x.snap", "--mem-file-path", "/tmp/x.mem");

        Assert.Equal(1, status);
        Assert.Contains(socket, errors);
    }

    [Fact]
    public void Snapshot_create_needs_its_paths_and_socket()
    {
        var (status, _) = Invoke("snapshot", "create", "--snapshot-path", "/tmp/x.snap");

        Assert.Equal(Program.UsageErrorStatus, status);
    }
}

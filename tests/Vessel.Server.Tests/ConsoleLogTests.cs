using System.Text;
using Vessel.Server.Vms;

namespace Vessel.Server.Tests;

/// <summary>The per-VM console ring: bounded on disk, newest output kept, live readers fed from the same instant.</summary>
public sealed class ConsoleLogTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vessel-console-").FullName;

    private string LogPath => Path.Combine(directory, "console.log");

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void The_file_never_grows_past_its_capacity_and_keeps_the_newest_output()
    {
        using var log = new ConsoleLog(LogPath, capacity: 1024);
        var written = new StringBuilder();
        for (int line = 0; line < 500; line++)
        {
            string text = $"line {line:000}\n";
            written.Append(text);
            log.Append(Encoding.ASCII.GetBytes(text));
            Assert.True(new FileInfo(LogPath).Length <= 1024, $"{new FileInfo(LogPath).Length} bytes after line {line}");
        }

        string kept = Encoding.ASCII.GetString(log.ReadAll());
        Assert.True(kept.Length >= 512, $"only {kept.Length} bytes kept");
        Assert.EndsWith("line 499\n", kept);
        Assert.EndsWith(kept, written.ToString());
    }

    [Fact]
    public void A_chunk_larger_than_the_capacity_keeps_its_last_half()
    {
        using var log = new ConsoleLog(LogPath, capacity: 100);
        byte[] chunk = [.. Enumerable.Range(0, 300).Select(i => (byte)i)];

        log.Append(chunk);

        Assert.Equal(chunk[^50..], log.ReadAll());
    }

    [Fact]
    public async Task A_subscriber_gets_the_history_and_then_every_later_chunk_until_completed()
    {
        using var log = new ConsoleLog(LogPath);
        log.Append("before\n"u8);
        var (history, live) = log.Subscribe();
        using (live)
        {
            log.Append("after\n"u8);
            log.CompleteSubscribers();

            Assert.Equal("before\n", Encoding.ASCII.GetString(history));
            var chunks = new List<string>();
            await foreach (byte[] chunk in live.Reader.ReadAllAsync())
            {
                chunks.Add(Encoding.ASCII.GetString(chunk));
            }

            Assert.Equal(["after\n"], chunks);
        }
    }

    [Fact]
    public void A_reopened_log_appends_to_what_an_earlier_daemon_kept()
    {
        using (var first = new ConsoleLog(LogPath))
        {
            first.Append("from the first daemon\n"u8);
        }

        using var second = new ConsoleLog(LogPath);
        second.Append("from the second\n"u8);

        Assert.Equal("from the first daemon\nfrom the second\n", Encoding.ASCII.GetString(second.ReadAll()));
    }
}

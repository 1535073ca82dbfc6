using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Vessel.Server.Models;

namespace Vessel.Server.Tests;

/// <summary>
/// <c>vessel snapshot NAME</c> and <c>vessel restore NAME</c> through the daemon, with a guest that counts on its
/// serial console: the restored VM goes on from the count the snapshot caught.
/// </summary>
public sealed class SnapshotRestoreTests : IDisposable
{
    private static readonly TimeSpan Boot = TimeSpan.FromSeconds(60);
    private readonly ManagerDaemonProcess daemon = new();
    private readonly string counterConfig;
    private readonly string snapshotPath;
    private readonly string memoryPath;

    public SnapshotRestoreTests()
    {
        counterConfig = TinyGuests.Config(TinyGuests.WriteCounter(daemon.Root));
        snapshotPath = Path.Combine(daemon.Root, "vm.snap");
        memoryPath = Path.Combine(daemon.Root, "vm.mem");
    }

    public void Dispose() => daemon.Dispose();

    [Fact]
    public async Task A_paused_vm_snapshotted_by_name_stays_paused_and_its_restored_copy_prints_the_next_count()
    {
        daemon.Create("counter", counterConfig);
        daemon.WaitForConsole("counter", "000003\n", Boot);
        await daemon.Client.PauseAsync("counter");
        string before = Logs("counter");

        var snapshot = daemon.Cli("snapshot", "counter", "--snapshot-path", snapshotPath, "--mem-file-path", memoryPath);
        Assert.True(snapshot.Status == 0, snapshot.Errors);
        Assert.Equal(VmState.Paused, daemon.Get("counter").State);

        var restore = daemon.Cli("restore", "copy", "--snapshot-path", snapshotPath, "--mem-file-path", memoryPath);
        Assert.True(restore.Status == 0, restore.Errors);
        var copy = daemon.Get("copy");
        Assert.Equal(VmState.Running, copy.State);
        Assert.Equal(snapshotPath, copy.RestoredFrom);
        Assert.Equal(1, copy.VcpuCount);
        Assert.Equal(16, copy.MemSizeMib);
        Assert.Contains($"restored from {snapshotPath}", daemon.Cli("ps").Output);

        int last = Counts(before).Last();
        string after = daemon.WaitForConsole("copy", Line(last + 3), Boot);

        // The original's console and the copy's read as one count: nothing repeated, nothing skipped.
        var counts = Counts(before + after);
        Assert.Equal(Enumerable.Range(1, counts.Count), counts);
        Assert.Equal(before, Logs("counter"));
    }

    [Fact]
    public async Task A_running_vm_snapshotted_by_name_keeps_running_and_its_copy_goes_on_from_a_count_it_printed()
    {
        daemon.Create("runner", counterConfig);
        daemon.WaitForConsole("runner", "000003\n", Boot);

        var written = await daemon.Client.SnapshotAsync("runner", snapshotPath, memoryPath, diff: false);
        Assert.Equal(VmState.Running, written.State);
        int printed = Counts(Logs("runner")).Last();
        daemon.WaitForConsole("runner", Line(printed + 2), Boot);

        var twin = await daemon.Client.RestoreAsync("twin", snapshotPath, memoryPath, start: true);
        Assert.Equal(VmState.Running, twin.State);
        string copied = daemon.WaitForConsole("twin", "\n", Boot);
        copied = daemon.WaitForConsole("twin", Line(FirstFullCount(copied) + 2), Boot);

        // The copy's first whole line follows a count the original printed before the snapshot, and it counts on.
        int first = FirstFullCount(copied);
        Assert.Contains(Line(first - 1), Logs("runner"));
        var counts = copied.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(line => line.Length == 6).Select(int.Parse).ToList();
        Assert.Equal(Enumerable.Range(first, counts.Count), counts);
    }

    [Fact]
    public async Task A_diff_snapshot_by_name_over_a_full_one_restores_to_the_later_count()
    {
        string tracked = counterConfig.Replace("\"mem_size_mib\": 16}", "\"mem_size_mib\": 16, \"track_dirty_pages\": true}", StringComparison.Ordinal);
        Assert.Contains("track_dirty_pages", tracked);
        daemon.Create("tracked", tracked);
        daemon.WaitForConsole("tracked", "000002\n", Boot);
        await daemon.Client.SnapshotAsync("tracked", snapshotPath, memoryPath, diff: false);
        int atFull = Counts(Logs("tracked")).Last();
        daemon.WaitForConsole("tracked", Line(atFull + 3), Boot);
        await daemon.Client.PauseAsync("tracked");
        string before = Logs("tracked");
        string diffPath = Path.Combine(daemon.Root, "vm.diff.snap");

        var diff = daemon.Cli("snapshot", "tracked", "--snapshot-path", diffPath, "--mem-file-path", memoryPath, "--diff");
        Assert.True(diff.Status == 0, diff.Errors);

        await daemon.Client.RestoreAsync("later", diffPath, memoryPath, start: true);
        string after = daemon.WaitForConsole("later", Line(Counts(before).Last() + 2), Boot);
        var counts = Counts(before + after);
        Assert.Equal(Enumerable.Range(1, counts.Count), counts);
    }

    [Fact]
    public async Task A_restored_vm_defined_without_starting_restores_when_started_again_after_a_stop_and_is_re_adopted_by_a_new_daemon()
    {
        daemon.Create("source", counterConfig);
        daemon.WaitForConsole("source", "000002\n", Boot);
        await daemon.Client.SnapshotAsync("source", snapshotPath, memoryPath, diff: false);

        var defined = daemon.Cli("restore", "later", "--snapshot-path", snapshotPath, "--mem-file-path", memoryPath, "--no-start");
        Assert.True(defined.Status == 0, defined.Errors);
        Assert.Equal(VmState.Stopped, daemon.Get("later").State);

        await daemon.Client.StartAsync("later");
        Assert.Equal(VmState.Running, daemon.Get("later").State);
        daemon.WaitForConsole("later", "\n", Boot);
        await daemon.Client.StopAsync("later", force: true);
        await daemon.Client.StartAsync("later");
        Assert.Equal(VmState.Running, daemon.Get("later").State);
        Assert.Equal(snapshotPath, daemon.Get("later").RestoredFrom);

        // A daemon restarted after a crash re-adopts it, still knowing where it came from.
        int pid = daemon.Get("later").Pid!.Value;
        daemon.KillDaemon();
        daemon.Restart();
        var adopted = daemon.Get("later");
        Assert.Equal((VmState.Running, pid, snapshotPath), (adopted.State, adopted.Pid!.Value, adopted.RestoredFrom));
    }

    [Fact]
    public async Task Snapshot_and_restore_requests_that_cannot_be_served_answer_400_404_or_409_with_one_sentence()
    {
        daemon.Create("idle", counterConfig, start: false);
        File.WriteAllText(snapshotPath, "not a snapshot");
        File.WriteAllText(memoryPath, string.Empty);
        using var http = Http();

        var unknown = await SendAsync(http, "v1/vms/nobody/snapshot", $$"""{"snapshot_path": "{{snapshotPath}}", "mem_file_path": "{{memoryPath}}"}""");
        Assert.Equal(HttpStatusCode.NotFound, unknown.Status);
        Assert.Contains("no VM named 'nobody'", unknown.Error);

        var stopped = await SendAsync(http, "v1/vms/idle/snapshot", $$"""{"snapshot_path": "{{snapshotPath}}", "mem_file_path": "{{memoryPath}}"}""");
        Assert.Equal(HttpStatusCode.Conflict, stopped.Status);
        Assert.Contains("VM 'idle' is not running", stopped.Error);

        var relative = await SendAsync(http, "v1/vms/idle/snapshot", """{"snapshot_path": "vm.snap", "mem_file_path": "/tmp/vm.mem"}""");
        Assert.Equal(HttpStatusCode.BadRequest, relative.Status);
        Assert.Contains("snapshot_path: 'vm.snap' is not an absolute path", relative.Error);

        var badType = await SendAsync(http, "v1/vms/idle/snapshot", $$"""{"snapshot_path": "{{snapshotPath}}", "mem_file_path": "{{memoryPath}}", "snapshot_type": "Half"}""");
        Assert.Equal(HttpStatusCode.BadRequest, badType.Status);
        Assert.Contains("give Full or Diff", badType.Error);

        var missing = await SendAsync(http, "v1/vms", $$$"""{"name": "ghost", "restore": {"snapshot_path": "/nonexistent/vm.snap", "mem_file_path": "{{{memoryPath}}}"}}""");
        Assert.Equal(HttpStatusCode.BadRequest, missing.Status);
        Assert.Contains("restore.snapshot_path: '/nonexistent/vm.snap' does not exist", missing.Error);

        var both = await SendAsync(http, "v1/vms", $$$"""{"name": "ghost", "config": {{{counterConfig}}}, "restore": {"snapshot_path": "{{{snapshotPath}}}", "mem_file_path": "{{{memoryPath}}}"}}""");
        Assert.Equal(HttpStatusCode.BadRequest, both.Status);
        Assert.Contains("give one of them", both.Error);

        // Files that are not a snapshot: the VMM refuses the load, the VM is Failed with the VMM's reason.
        var garbage = await SendAsync(http, "v1/vms", $$$"""{"name": "garbage", "restore": {"snapshot_path": "{{{snapshotPath}}}", "mem_file_path": "{{{memoryPath}}}"}}""");
        Assert.Equal(HttpStatusCode.BadRequest, garbage.Status);
        Assert.Contains("its snapshot could not be restored", garbage.Error);
        Assert.Equal(VmState.Failed, daemon.Get("garbage").State);

        var cliUnknown = daemon.Cli("snapshot", "nobody", "--snapshot-path", snapshotPath, "--mem-file-path", memoryPath);
        Assert.Equal(1, cliUnknown.Status);
        Assert.Equal("vessel: There is no VM named 'nobody' (vessel ps lists them).", cliUnknown.Errors.Trim());

        var cliMissing = daemon.Cli("restore", "ghost", "--snapshot-path", "/nonexistent/vm.snap", "--mem-file-path", memoryPath);
        Assert.Equal(1, cliMissing.Status);
        Assert.Single(cliMissing.Errors.Trim().Split('\n'));
        Assert.Contains("does not exist", cliMissing.Errors);
    }

    [Fact]
    public void Snapshot_create_still_means_the_api_socket_form()
    {
        var direct = daemon.Cli("snapshot", "create", "--api-sock", Path.Combine(daemon.Root, "nothing.sock"), "--snapshot-path", snapshotPath, "--mem-file-path", memoryPath);

        Assert.Equal(1, direct.Status);
        Assert.Contains("no VMM answers there", direct.Errors);
    }

    private static string Line(int count) => count.ToString("D6", CultureInfo.InvariantCulture) + "\n";

    /// <summary>The whole lines of a console, as counts.</summary>
    private static List<int> Counts(string console) =>
        [.. console.Split('\n')[..^1].Select(line => int.Parse(line, CultureInfo.InvariantCulture))];

    private static int FirstFullCount(string console) =>
        int.Parse(console.Split('\n').First(line => line.Length == 6), CultureInfo.InvariantCulture);

    private string Logs(string name)
    {
        using var stream = daemon.Client.LogsAsync(name, follow: false).GetAwaiter().GetResult();
        return new StreamReader(stream, Encoding.Latin1).ReadToEnd();
    }

    private HttpClient Http()
    {
        string socketPath = daemon.SocketPath;
        return new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellation) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellation);
                return new NetworkStream(socket, ownsSocket: true);
            },
        })
        { BaseAddress = new Uri("http://localhost/") };
    }

    private static async Task<(HttpStatusCode Status, string Error)> SendAsync(HttpClient http, string path, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using var response = await http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        using var document = JsonDocument.Parse(text);
        return (response.StatusCode, document.RootElement.GetProperty("error").GetString()!);
    }
}

using System.Diagnostics;
using System.Text.Json;

namespace Vessel.Server.Tests;

/// <summary>The CLI verbs against a real daemon: output, and one sentence with exit status 1 for each refusal.</summary>
public sealed class CliVerbTests : IDisposable
{
    private readonly ManagerDaemonProcess daemon = new();
    private readonly string configFile;

    public CliVerbTests()
    {
        configFile = Path.Combine(daemon.Root, "config.json");
        File.WriteAllText(configFile, TinyGuests.Config(TinyGuests.WriteIdle(daemon.Root), vcpus: 2, memSizeMib: 32));
    }

    public void Dispose() => daemon.Dispose();

    [Fact]
    public void Create_ps_logs_stop_and_rm_work_from_the_command_line()
    {
        var created = daemon.Cli("create", "web", "--config-file", configFile);
        Assert.True(created.Status == 0, created.Errors);
        Assert.StartsWith("web: Running (pid ", created.Output);
        daemon.WaitForConsole("web", "vessel guest ready", TimeSpan.FromSeconds(60));

        var ps = daemon.Cli("ps", "--json");
        Assert.Equal(0, ps.Status);
        using var listed = JsonDocument.Parse(ps.Output);
        var web = Assert.Single(listed.RootElement.EnumerateArray());
        Assert.Equal("web", web.GetProperty("name").GetString());
        Assert.Equal("Running", web.GetProperty("state").GetString());
        Assert.True(web.GetProperty("pid").GetInt32() > 0);
        Assert.Equal(2, web.GetProperty("vcpu_count").GetInt32());
        Assert.Equal(32, web.GetProperty("mem_size_mib").GetInt32());
        Assert.True(web.TryGetProperty("limits", out _));

        var table = daemon.Cli("ps");
        Assert.Matches(@"NAME\s+STATE\s+PID\s+VCPUS\s+MEMORY\s+UPTIME\s+LIMITS", table.Output);
        Assert.Matches(@"web\s+Running\s+\d+\s+2\s+32 MiB", table.Output);

        Assert.Contains("vessel guest ready", daemon.Cli("logs", "web").Output);
        Assert.Equal("web: Paused", daemon.Cli("pause", "web").Output.Trim());
        Assert.Equal("web: Running", daemon.Cli("resume", "web").Output.Trim());
        Assert.StartsWith("web: Stopped", daemon.Cli("stop", "web", "--timeout", "0.5").Output);
        Assert.Equal("web: removed", daemon.Cli("rm", "web").Output.Trim());
    }

    [Fact]
    public async Task Console_attaches_types_into_the_guest_shows_its_echo_and_ctrl_a_x_detaches_leaving_it_running()
    {
        daemon.Create("echo", TinyGuests.Config(TinyGuests.WriteEcho(daemon.Root)));
        daemon.WaitForConsole("echo", "echo ready", TimeSpan.FromSeconds(60));
        var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in (string[])[ManagerDaemonProcess.VesselDll, "console", "echo", "--socket", daemon.SocketPath])
        {
            start.ArgumentList.Add(argument);
        }

        using var console = Process.Start(start)!;
        var output = console.StandardOutput.ReadToEndAsync();
        var errors = console.StandardError.ReadToEndAsync();
        console.StandardInput.Write("typed via the cli");
        console.StandardInput.Flush();
        daemon.WaitForConsole("echo", "typed via the cli", TimeSpan.FromSeconds(60));
        console.StandardInput.Write("\u0001x");
        console.StandardInput.Flush();

        Assert.True(console.WaitForExit(TimeSpan.FromSeconds(30)), "vessel console did not detach on Ctrl-A X");
        Assert.Equal(0, console.ExitCode);
        Assert.Contains("echo ready", await output);
        Assert.Contains("detached from echo", await errors);
        Assert.Equal("Running", daemon.Get("echo").State);
    }

    [Fact]
    public async Task Logs_follow_prints_the_console_and_ends_when_the_vm_stops()
    {
        daemon.Create("followed", TinyGuests.Config(TinyGuests.WriteEcho(daemon.Root)));
        daemon.WaitForConsole("followed", "echo ready", TimeSpan.FromSeconds(60));
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in (string[])[ManagerDaemonProcess.VesselDll, "logs", "followed", "-f", "--socket", daemon.SocketPath])
        {
            start.ArgumentList.Add(argument);
        }

        using var logs = Process.Start(start)!;
        var lines = new List<string>();
        var sync = new Lock();
        logs.OutputDataReceived += (_, line) =>
        {
            lock (sync)
            {
                lines.Add(line.Data ?? string.Empty);
            }
        };
        logs.BeginOutputReadLine();
        bool Printed(string text)
        {
            lock (sync)
            {
                return lines.Any(line => line.Contains(text, StringComparison.Ordinal));
            }
        }

        // The history comes first, and from the same instant every new chunk: once it is printed, the follower is live.
        Assert.True(SpinWait.SpinUntil(() => Printed("echo ready"), TimeSpan.FromSeconds(60)), "logs -f printed no history");
        using (var console = await daemon.Client.ConnectConsoleAsync("followed", history: false))
        {
            await console.SendAsync("live line\n"u8.ToArray(), System.Net.WebSockets.WebSocketMessageType.Binary, true, CancellationToken.None);
            Assert.True(SpinWait.SpinUntil(() => Printed("live line"), TimeSpan.FromSeconds(60)), "logs -f did not print what the guest wrote after it attached");
        }

        Assert.False(logs.HasExited, "logs -f ended while the VM runs");
        await daemon.Client.StopAsync("followed", force: true);

        Assert.True(logs.WaitForExit(TimeSpan.FromSeconds(30)), "logs -f did not end when the VM stopped");
        Assert.Equal(0, logs.ExitCode);
    }

    [Fact]
    public void Unknown_and_duplicate_names_are_one_sentence_and_exit_1()
    {
        var unknown = daemon.Cli("stop", "ghost");
        Assert.Equal(1, unknown.Status);
        Assert.Equal("vessel: There is no VM named 'ghost' (vessel ps lists them).", unknown.Errors.Trim());

        Assert.Equal(0, daemon.Cli("create", "twin", "--config-file", configFile, "--no-start").Status);
        var duplicate = daemon.Cli("create", "twin", "--config-file", configFile, "--no-start");
        Assert.Equal(1, duplicate.Status);
        Assert.Single(duplicate.Errors.Trim().Split('\n'));
        Assert.Contains("already exists", duplicate.Errors);

        var running = daemon.Cli("rm", "ghost");
        Assert.Equal(1, running.Status);
    }

    [Fact]
    public void A_verb_without_a_daemon_says_so_in_one_sentence_and_exits_1()
    {
        var absent = daemon.Cli("ps", "--socket", Path.Combine(daemon.Root, "nobody.sock"));

        Assert.Equal(1, absent.Status);
        Assert.Single(absent.Errors.Trim().Split('\n'));
        Assert.StartsWith("vessel: No vessel daemon is listening on", absent.Errors);
        Assert.Contains("(no such socket)", absent.Errors);
    }
}

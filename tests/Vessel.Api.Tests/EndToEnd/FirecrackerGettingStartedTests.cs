using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Vessel.Vmm.Images;

namespace Vessel.Api.Tests.EndToEnd;

/// <summary>
/// Firecracker's getting-started sequence with curl on the socket, against the real vessel binary and Debian's kernel on
/// the software CPU: configure, start, read back, pause (the console falls silent and guest time stands still), resume,
/// SendCtrlAltDel (busybox init reboots, reboot=k resets through the keyboard controller) and the VMM exits 0. Then the
/// same VM from a --config-file.
/// </summary>
public sealed partial class FirecrackerGettingStartedTests : IDisposable
{
    private static readonly TimeSpan BootTimeout = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan PauseLength = TimeSpan.FromSeconds(4);
    private const string BootArgs = "console=ttyS0 reboot=k panic=1";
    private const string Prompt = "vessel:/# ";

    private readonly string directory = Path.Combine(Path.GetTempPath(), $"vessel-e2e-{Guid.NewGuid():N}");

    public FirecrackerGettingStartedTests() => Directory.CreateDirectory(directory);

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static GuestImages Images => GuestImages.TryLoad(out _)!;

    private static string Quote(string path) => JsonSerializer.Serialize(path);

    /// <summary>Types a command that prints "@@NAME value"; the echo of what was typed shows the quotes, so only the output matches.</summary>
    private static double ReadUptime(VesselProcess vessel, string name, ref int from)
    {
        vessel.Type($"echo \"@@\"'{name}' $(cut -d' ' -f1 /proc/uptime)");
        int end = vessel.WaitFor($"@@{name} ", CommandTimeout, from);
        var match = UptimePattern().Match(vessel.Output, end);
        Assert.True(match.Success && match.Index == end, $"no uptime after @@{name}");
        from = end;
        return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [DebianGuestFact]
    public void The_getting_started_sequence_runs_pauses_resumes_and_ends_with_ctrl_alt_del()
    {
        string socket = Path.Combine(directory, "firecracker.socket");
        using var vessel = VesselProcess.Start("run", "--api-sock", socket, "--accel", "software");
        Assert.True(SpinWait.SpinUntil(() => File.Exists(socket) || vessel.HasExited, TimeSpan.FromSeconds(60)), "the API socket did not appear");

        Curl.Expect204(socket, "PUT", "/boot-source", $"{{\"kernel_image_path\": {Quote(Images.VmlinuxPath)}, \"initrd_path\": {Quote(Images.InitramfsPath)}, \"boot_args\": \"{BootArgs}\"}}");
        Curl.Expect204(socket, "PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 256}");
        Assert.Equal(400, Curl.Send(socket, "PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 256, \"bogus\": 1}").Status);

        // Read-only: the cached root file system is shared by every test, so this guest must not write to it.
        Curl.Expect204(socket, "PUT", "/drives/rootfs", $"{{\"drive_id\": \"rootfs\", \"path_on_host\": {Quote(Images.RootfsPath)}, \"is_root_device\": true, \"is_read_only\": true}}");
        Curl.Expect204(socket, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}");

        var config = JsonDocument.Parse(Curl.Send(socket, "GET", "/vm/config").Body).RootElement;
        Assert.Equal(Images.VmlinuxPath, config.GetProperty("boot-source").GetProperty("kernel_image_path").GetString());
        Assert.Equal(256, config.GetProperty("machine-config").GetProperty("mem_size_mib").GetInt32());
        Assert.Equal("rootfs", config.GetProperty("drives")[0].GetProperty("drive_id").GetString());
        Assert.Contains("\"state\":\"Running\"", Curl.Send(socket, "GET", "/").Body, StringComparison.Ordinal);
        Assert.Equal(400, Curl.Send(socket, "PUT", "/boot-source", $"{{\"kernel_image_path\": {Quote(Images.VmlinuxPath)}}}").Status);

        int from = vessel.WaitFor("switching to the root file system on /dev/vda", BootTimeout);
        from = vessel.WaitFor(GuestImages.UserspaceMarker, CommandTimeout, from);
        from = vessel.WaitFor(Prompt, CommandTimeout, from);
        double uptimeBefore = ReadUptime(vessel, "before", ref from);
        var host = Stopwatch.StartNew();

        Curl.Expect204(socket, "PATCH", "/vm", "{\"state\": \"Paused\"}");
        Assert.Contains("\"state\":\"Paused\"", Curl.Send(socket, "GET", "/").Body, StringComparison.Ordinal);
        string atPause = vessel.Output;
        vessel.Type("echo \"@@\"'during'");
        var paused = Stopwatch.StartNew();
        SpinWait.SpinUntil(() => paused.Elapsed > PauseLength);
        Assert.Equal(atPause, vessel.Output);

        Curl.Expect204(socket, "PATCH", "/vm", "{\"state\": \"Resumed\"}");
        Assert.Contains("\"state\":\"Running\"", Curl.Send(socket, "GET", "/").Body, StringComparison.Ordinal);
        from = vessel.WaitFor("@@during", CommandTimeout, atPause.Length);
        double uptimeAfter = ReadUptime(vessel, "after", ref from);
        double hostSeconds = host.Elapsed.TotalSeconds;

        // Guest time went on, but without the pause: half the pause is left as margin for a slow console on a loaded host.
        Assert.True(uptimeAfter > uptimeBefore, $"guest uptime went from {uptimeBefore} to {uptimeAfter}");
        Assert.True(
            uptimeAfter - uptimeBefore < hostSeconds - (PauseLength.TotalSeconds / 2),
            $"guest uptime advanced {uptimeAfter - uptimeBefore:0.00} s over {hostSeconds:0.00} s of host time that included a {PauseLength.TotalSeconds} s pause");

        Curl.Expect204(socket, "PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}");
        Assert.Equal(0, vessel.WaitForExit(CommandTimeout));
        Assert.Contains("reboot", vessel.Output, StringComparison.Ordinal);
    }

    [DebianGuestFact]
    public void The_same_vm_starts_from_a_config_file_and_answers_on_its_socket()
    {
        string socket = Path.Combine(directory, "config.socket");
        string file = Path.Combine(directory, "vm_config.json");
        File.WriteAllText(file, $$"""
            {
              "boot-source": {
                "kernel_image_path": {{Quote(Images.VmlinuxPath)}},
                "initrd_path": {{Quote(Images.InitramfsPath)}},
                "boot_args": "{{BootArgs}}"
              },
              "machine-config": { "vcpu_count": 1, "mem_size_mib": 256 },
              "drives": [],
              "network-interfaces": []
            }
            """);
        using var vessel = VesselProcess.Start("run", "--config-file", file, "--api-sock", socket, "--accel", "software");

        int from = vessel.WaitFor(GuestImages.UserspaceMarker, BootTimeout);
        from = vessel.WaitFor(Prompt, CommandTimeout, from);
        Assert.Contains("\"state\":\"Running\"", Curl.Send(socket, "GET", "/").Body, StringComparison.Ordinal);
        Assert.Equal(256, JsonDocument.Parse(Curl.Send(socket, "GET", "/machine-config").Body).RootElement.GetProperty("mem_size_mib").GetInt32());
        vessel.Type("echo \"@@\"'config-file'");
        vessel.WaitFor("@@config-file", CommandTimeout, from);

        Curl.Expect204(socket, "PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}");
        Assert.Equal(0, vessel.WaitForExit(CommandTimeout));
    }

    [Fact]
    public void A_config_file_with_an_unknown_field_is_refused_with_status_1_and_the_field_named()
    {
        string file = Path.Combine(directory, "bad.json");
        File.WriteAllText(file, "{\"boot-source\": {\"kernel_image_path\": \"/bin/sh\"}, \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128, \"turbo\": true}}");
        using var vessel = VesselProcess.Start("run", "--config-file", file);

        Assert.Equal(1, vessel.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Contains("'turbo' is not a field of", vessel.Errors, StringComparison.Ordinal);
    }

    [Fact]
    public void A_config_file_with_a_missing_kernel_names_the_firecracker_field()
    {
        string file = Path.Combine(directory, "missing.json");
        File.WriteAllText(file, "{\"boot-source\": {\"kernel_image_path\": \"/nonexistent/vmlinux\"}}");
        using var vessel = VesselProcess.Start("run", "--config-file", file);

        Assert.Equal(1, vessel.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Contains("vessel: kernel_image_path: '/nonexistent/vmlinux' does not exist", vessel.Errors, StringComparison.Ordinal);
    }

    [DebianGuestFact(needsImages: false)]
    public void The_api_socket_answers_and_sigterm_before_start_exits_143_removing_the_socket()
    {
        string socket = Path.Combine(directory, "idle.socket");
        using var vessel = VesselProcess.Start("run", "--api-sock", socket);
        Assert.True(SpinWait.SpinUntil(() => File.Exists(socket) || vessel.HasExited, TimeSpan.FromSeconds(60)), "the API socket did not appear");
        Assert.Contains("\"state\":\"Not started\"", Curl.Send(socket, "GET", "/").Body, StringComparison.Ordinal);

        Process.Start("kill", ["-TERM", vessel.ProcessId.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();

        Assert.Equal(128 + 15, vessel.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.False(File.Exists(socket));
    }

    [GeneratedRegex(@"(\d+\.\d+)")]
    private static partial Regex UptimePattern();
}

using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using Vessel.Server.Client;
using Vessel.Server.Models;

namespace Vessel.Server.Tests;

/// <summary>The daemon end to end: real <c>vessel serve</c>, real <c>vessel run</c> children, tiny bare-metal guests.</summary>
public sealed class ManagerLifecycleTests : IDisposable
{
    private static readonly TimeSpan Boot = TimeSpan.FromSeconds(60);
    private readonly ManagerDaemonProcess daemon = new();
    private readonly string idleConfig;

    public ManagerLifecycleTests()
    {
        idleConfig = TinyGuests.Config(TinyGuests.WriteIdle(daemon.Root));
    }

    public void Dispose() => daemon.Dispose();

    [Fact]
    public async Task Three_vms_run_at_once_and_a_vmm_killed_with_sigkill_is_marked_failed_within_two_seconds_while_the_others_run()
    {
        string[] names = ["alpha", "bravo", "charlie"];
        foreach (string name in names)
        {
            var created = daemon.Create(name, idleConfig);
            Assert.Equal(VmState.Running, created.State);
        }

        foreach (string name in names)
        {
            daemon.WaitForConsole(name, "vessel guest ready", Boot);
        }

        var before = (await daemon.Client.ListAsync());
        Assert.Equal(names, before.Select(vm => vm.Name));
        Assert.All(before, vm => Assert.Equal(VmState.Running, vm.State));
        Assert.Equal(3, before.Select(vm => vm.Pid).Distinct().Count());

        int victim = before[1].Pid!.Value;
        Process.GetProcessById(victim).Kill();
        var noticed = daemon.WaitFor("bravo", vm => vm.State == VmState.Failed, TimeSpan.FromSeconds(2));

        var bravo = daemon.Get("bravo");
        Assert.Null(bravo.Pid);
        Assert.Equal("its VMM process ended on SIGKILL (exit status 137)", bravo.Reason);
        Assert.True(noticed < TimeSpan.FromSeconds(2), $"the kill was noticed after {noticed.TotalMilliseconds:0} ms");
        foreach (var other in new[] { before[0], before[2] })
        {
            Assert.Equal(VmState.Running, daemon.Get(other.Name).State);
            Assert.False(Process.GetProcessById(other.Pid!.Value).HasExited);
        }
    }

    [Fact]
    public void Each_vm_reports_its_cgroup_limits_or_why_there_are_none()
    {
        var vm = daemon.Create("limited", TinyGuests.Config(TinyGuests.WriteIdle(daemon.Root), vcpus: 2, memSizeMib: 64));
        daemon.WaitForConsole("limited", "vessel guest ready", Boot);

        var limits = daemon.Get("limited").Limits!;
        if (limits.CpuMax == null)
        {
            // This host does not delegate cgroup v2 controllers: said once at start, and in each VM's limits.
            Assert.StartsWith("no limits: ", limits.Note);
            Assert.Single(daemon.Errors.Split('\n'), line => line.Contains("VMs run without cgroup limits", StringComparison.Ordinal));
            return;
        }

        Assert.Equal("200000 100000", limits.CpuMax);
        Assert.Equal("200000 100000", File.ReadAllText(Path.Combine(limits.Cgroup!, "cpu.max")).Trim());
        Assert.Contains(vm.Pid!.Value.ToString(), File.ReadAllLines(Path.Combine(limits.Cgroup!, "cgroup.procs")));
    }

    [Fact]
    public async Task A_vm_pauses_resumes_stops_and_is_removed()
    {
        daemon.Create("one", idleConfig);
        daemon.WaitForConsole("one", "vessel guest ready", Boot);

        Assert.Equal(VmState.Paused, (await daemon.Client.PauseAsync("one")).State);
        Assert.Equal(VmState.Paused, daemon.Get("one").State);
        Assert.Equal(VmState.Running, (await daemon.Client.ResumeAsync("one")).State);

        int pid = daemon.Get("one").Pid!.Value;
        var stopped = (await daemon.Client.StopAsync("one", force: false, timeoutSeconds: 1));
        Assert.Equal(VmState.Stopped, stopped.State);
        Assert.Contains("stopped on request", stopped.Reason);
        Assert.False(IsAlive(pid), "the VMM still runs after stop");

        var restarted = (await daemon.Client.StartAsync("one"));
        Assert.Equal(VmState.Running, restarted.State);
        Assert.NotEqual(pid, restarted.Pid);
        Assert.Equal(VmState.Stopped, (await daemon.Client.StopAsync("one", force: true)).State);

        await daemon.Client.RemoveAsync("one");
        var missing = Assert.Throws<ManagerClientException>(() => daemon.Get("one"));
        Assert.Equal(404, missing.Status);
        Assert.False(Directory.Exists(Path.Combine(daemon.StateDirectory, "one")));
    }

    [Fact]
    public async Task A_daemon_killed_and_restarted_re_adopts_its_running_vms_and_reports_a_lost_one()
    {
        daemon.Create("kept", idleConfig);
        daemon.Create("lost", idleConfig);
        daemon.Create("defined", idleConfig, start: false);
        daemon.WaitForConsole("kept", "vessel guest ready", Boot);
        daemon.WaitForConsole("lost", "vessel guest ready", Boot);
        int kept = daemon.Get("kept").Pid!.Value;
        int lost = daemon.Get("lost").Pid!.Value;

        daemon.KillDaemon();
        Assert.False(Process.GetProcessById(kept).HasExited, "the VMM died with the daemon");
        using (var vmm = Process.GetProcessById(lost))
        {
            vmm.Kill();
            vmm.WaitForExit();
        }

        daemon.Restart();
        var adopted = daemon.Get("kept");
        Assert.Equal(VmState.Running, adopted.State);
        Assert.Equal(kept, adopted.Pid);
        var gone = daemon.Get("lost");
        Assert.Equal(VmState.Failed, gone.State);
        Assert.StartsWith("lost", gone.Reason);
        Assert.Equal(VmState.Stopped, daemon.Get("defined").State);
        Assert.Contains("re-adopted VM 'kept'", daemon.Errors);

        // The adopted VMM is driven through its API socket, its console still reaches the log, and its exit is seen.
        Assert.Equal(VmState.Paused, (await daemon.Client.PauseAsync("kept")).State);
        Assert.Equal(VmState.Running, (await daemon.Client.ResumeAsync("kept")).State);
        Assert.Contains("vessel guest ready", daemon.WaitForConsole("kept", "ready", Boot));
        Assert.Equal(VmState.Stopped, (await daemon.Client.StopAsync("kept", force: true)).State);
        Assert.False(IsAlive(kept), "the adopted VMM still runs after stop");
    }

    [Fact]
    public async Task The_console_websocket_types_into_the_guest_and_carries_its_echo()
    {
        daemon.Create("echo", TinyGuests.Config(TinyGuests.WriteEcho(daemon.Root)));
        daemon.WaitForConsole("echo", "echo ready", Boot);

        using var console = (await daemon.Client.ConnectConsoleAsync("echo", history: false));
        await console.SendAsync(Encoding.ASCII.GetBytes("hello vessel"), WebSocketMessageType.Binary, true, CancellationToken.None);
        var received = new StringBuilder();
        var buffer = new byte[1024];
        using var timeout = new CancellationTokenSource(Boot);
        while (!received.ToString().Contains("hello vessel", StringComparison.Ordinal))
        {
            var result = (await console.ReceiveAsync(buffer, timeout.Token));
            received.Append(Encoding.ASCII.GetString(buffer, 0, result.Count));
        }

        Assert.Contains("hello vessel", daemon.WaitForConsole("echo", "hello vessel", Boot));
    }

    [Fact]
    public void A_vm_whose_vmm_cannot_start_is_failed_with_the_vmms_reason()
    {
        string kernel = Path.Combine(daemon.Root, "not-a-kernel");
        File.WriteAllText(kernel, "text, not an image");
        var refused = Assert.Throws<ManagerClientException>(() => daemon.Create("broken", TinyGuests.Config(kernel)));

        Assert.True(refused.Status == 400, $"{refused.Status}: {refused.Message}\ndaemon stderr:\n{daemon.Errors}");
        Assert.Contains("failed to start", refused.Message);
        var broken = daemon.Get("broken");
        Assert.Equal(VmState.Failed, broken.State);
        Assert.Contains("exited with status 1", broken.Reason);
    }

    /// <summary>True while the process runs (an orphan's zombie, which no init reaped in a container, does not count).</summary>
    private static bool IsAlive(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return false;
        }

        return stat[(stat.LastIndexOf(')') + 2)] is not ('Z' or 'X');
    }
}

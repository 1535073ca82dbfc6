using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Vessel.Client;
using Vessel.Client.Models;

namespace Vessel.Api.Tests;

/// <summary>
/// PUT /snapshot/create and /snapshot/load through the socket: a TSC-printing guest snapshotted in one VMM and loaded in
/// another goes on printing, its TSC going on from where it stood; and every request the rules refuse is a 400 that says why.
/// </summary>
public sealed class SnapshotEndpointTests : IAsyncLifetime
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    private ApiHost source = null!;
    private ApiHost target = null!;

    public async Task InitializeAsync()
    {
        source = await ApiHost.StartAsync();
        target = await ApiHost.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await source.DisposeAsync();
        await target.DisposeAsync();
    }

    [Fact]
    public async Task A_snapshot_loaded_in_another_vmm_goes_on_printing_with_its_guest_time_going_on()
    {
        await StartTscPrinterAsync(trackDirtyPages: true);
        WaitForLines(source, 3);
        await source.Client.PauseAsync();
        var before = GuestPrograms.ParseTscLines(source.Console.Text);
        string state = Path.Combine(source.Directory, "vm.snap");
        string memory = Path.Combine(source.Directory, "vm.mem");
        await source.Client.CreateSnapshotAsync(new SnapshotCreateParams { SnapshotPath = state, MemFilePath = memory });
        var pausedFor = Stopwatch.StartNew();
        source.Controller.Built!.Machine.RequestStop(Vessel.Core.Interrupts.MachineStop.HostRequest());

        await target.Client.LoadSnapshotAsync(new SnapshotLoadParams
        {
            SnapshotPath = state,
            MemBackend = new MemoryBackend { BackendType = MemoryBackend.File, BackendPath = memory },
        });
        Assert.Equal("Paused", (await target.Client.GetInstanceInfoAsync()).State);
        Assert.Equal(32, (await target.Client.GetMachineConfigAsync()).MemSizeMib);
        Thread.Sleep(TimeSpan.FromSeconds(1));
        await target.Client.ResumeAsync();
        WaitForLines(target, 2);

        var after = GuestPrograms.ParseTscLines(target.Console.Text);
        Assert.True(after[0] > before[^1], $"the TSC went back from {before[^1]:x} to {after[0]:x}");

        // Guest time did not count the time the machine spent saved (a second here, at least); the TSC runs at about 1 GHz or more.
        ulong perLine = before[^1] - before[^2];
        Assert.True(after[0] - before[^1] < perLine + ((ulong)pausedFor.Elapsed.TotalSeconds * 500_000_000UL), "the guest's TSC jumped across the restore");
    }

    [Fact]
    public async Task A_diff_snapshot_needs_track_dirty_pages_and_is_accepted_with_it()
    {
        await StartTscPrinterAsync(trackDirtyPages: true);
        WaitForLines(source, 2);
        await source.Client.PauseAsync();
        string memory = Path.Combine(source.Directory, "vm.mem");
        await source.Client.CreateSnapshotAsync(new SnapshotCreateParams { SnapshotPath = Path.Combine(source.Directory, "full.snap"), MemFilePath = memory });
        await source.Client.ResumeAsync();
        WaitForLines(source, 4);
        await source.Client.PauseAsync();

        await source.Client.CreateSnapshotAsync(new SnapshotCreateParams
        {
            SnapshotType = SnapshotCreateParams.Diff,
            SnapshotPath = Path.Combine(source.Directory, "diff.snap"),
            MemFilePath = memory,
        });

        Assert.True(File.Exists(Path.Combine(source.Directory, "diff.snap")));
    }

    [Fact]
    public async Task A_snapshot_with_vsock_loads_once_the_old_vmm_is_gone_and_listens_on_its_socket_again()
    {
        string socketPath = Path.Combine(target.Directory, "v.sock");
        await source.Client.PutVsockAsync(new Vsock { GuestCid = 3, UdsPath = socketPath });
        await StartTscPrinterAsync(trackDirtyPages: false);
        WaitForLines(source, 1);
        await source.Client.PauseAsync();
        string state = Path.Combine(target.Directory, "vm.snap");
        string memory = Path.Combine(target.Directory, "vm.mem");
        await source.Client.CreateSnapshotAsync(new SnapshotCreateParams { SnapshotPath = state, MemFilePath = memory });
        var load = new SnapshotLoadParams { SnapshotPath = state, MemFilePath = memory };

        // The old VMM still holds the socket: the load is refused as a boot would be, and can be retried.
        await AssertRefused(() => target.Client.LoadSnapshotAsync(load), "already exists");
        await source.DisposeAsync();
        source = await ApiHost.StartAsync();
        Assert.False(File.Exists(socketPath), "the old VMM removes its vsock socket when it ends");

        await target.Client.LoadSnapshotAsync(load);
        using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        client.Connect(new UnixDomainSocketEndPoint(socketPath));
        await target.Client.ResumeAsync();
        WaitForLines(target, 2);
    }

    [Fact]
    public async Task Snapshot_requests_the_rules_refuse_answer_400_saying_why()
    {
        string state = Path.Combine(source.Directory, "vm.snap");
        string memory = Path.Combine(source.Directory, "vm.mem");
        var create = new SnapshotCreateParams { SnapshotPath = state, MemFilePath = memory };
        await AssertRefused(() => source.Client.CreateSnapshotAsync(create), "before starting");

        await StartTscPrinterAsync(trackDirtyPages: false);
        WaitForLines(source, 1);
        await AssertRefused(() => source.Client.CreateSnapshotAsync(create), "only while it is Paused");
        await source.Client.PauseAsync();
        await AssertRefused(() => source.Client.CreateSnapshotAsync(create with { SnapshotType = "Half" }), "snapshot_type: 'Half'");
        await AssertRefused(() => source.Client.CreateSnapshotAsync(create with { SnapshotType = SnapshotCreateParams.Diff }), "track_dirty_pages");
        await source.Client.CreateSnapshotAsync(create);

        var load = new SnapshotLoadParams { SnapshotPath = state, MemFilePath = memory };
        await AssertRefused(() => target.Client.LoadSnapshotAsync(load with { MemBackend = new MemoryBackend { BackendType = MemoryBackend.File, BackendPath = memory } }), "not both");
        await AssertRefused(() => target.Client.LoadSnapshotAsync(load with { MemFilePath = null, MemBackend = new MemoryBackend { BackendType = MemoryBackend.Uffd, BackendPath = memory } }), "Give File");
        await AssertRefused(() => target.Client.LoadSnapshotAsync(load with { MemFilePath = null }), "mem_backend: missing");
        await AssertRefused(() => target.Client.LoadSnapshotAsync(load with { SnapshotPath = Path.Combine(target.Directory, "none.snap") }), "none.snap");

        byte[] truncated = File.ReadAllBytes(state)[..^10];
        string broken = target.WriteFile("broken.snap", truncated);
        await AssertRefused(() => target.Client.LoadSnapshotAsync(load with { SnapshotPath = broken }), "truncated");
        Assert.Equal("Not started", (await target.Client.GetInstanceInfoAsync()).State);

        await target.Client.PutMachineConfigAsync(new MachineConfiguration { VcpuCount = 1, MemSizeMib = 32 });
        await AssertRefused(() => target.Client.LoadSnapshotAsync(load), "already configured");
    }

    private async Task StartTscPrinterAsync(bool trackDirtyPages)
    {
        await source.Client.PutBootSourceAsync(new BootSource { KernelImagePath = source.WriteFile("tsc.elf", GuestPrograms.TscPrinter()) });
        await source.Client.PutMachineConfigAsync(new MachineConfiguration { VcpuCount = 1, MemSizeMib = 32, TrackDirtyPages = trackDirtyPages });
        await source.Client.StartInstanceAsync();
    }

    private static void WaitForLines(ApiHost host, int count) =>
        Assert.True(
            SpinWait.SpinUntil(() => GuestPrograms.ParseTscLines(host.Console.Text).Count >= count, Generous),
            $"the guest printed {GuestPrograms.ParseTscLines(host.Console.Text).Count} of {count} lines within {Generous.TotalSeconds} s");

    private static async Task AssertRefused(Func<Task> request, string expected)
    {
        var exception = await Assert.ThrowsAsync<FirecrackerApiException>(request);
        Assert.Equal(HttpStatusCode.BadRequest, exception.StatusCode);
        Assert.Contains(expected, exception.FaultMessage);
    }
}

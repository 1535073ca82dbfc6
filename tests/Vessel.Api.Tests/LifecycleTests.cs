using System.Diagnostics;
using System.Net;
using Vessel.Client;
using Vessel.Client.Models;
using Vessel.X86;

namespace Vessel.Api.Tests;

/// <summary>
/// A running microVM driven through the socket: start, the post-boot rules, pause (the guest's output and its TSC stand
/// still), resume (both go on), and metrics from a running guest.
/// </summary>
public sealed class LifecycleTests : IAsyncLifetime
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan PauseLength = TimeSpan.FromSeconds(2);

    private ApiHost host = null!;

    private FirecrackerClient Client => host.Client;

    public async Task InitializeAsync() => host = await ApiHost.StartAsync();

    public async Task DisposeAsync() => await host.DisposeAsync();

    private async Task StartTscPrinterAsync(int spinIterations = 2_000_000)
    {
        await Client.PutBootSourceAsync(new BootSource { KernelImagePath = host.WriteFile("tsc.elf", GuestPrograms.TscPrinter(spinIterations)) });
        await Client.PutMachineConfigAsync(new MachineConfiguration { VcpuCount = 1, MemSizeMib = 32 });
        await Client.StartInstanceAsync();
    }

    private int WaitForLines(int count)
    {
        Assert.True(
            SpinWait.SpinUntil(() => GuestPrograms.ParseTscLines(host.Console.Text).Count >= count, Generous),
            $"the guest printed {GuestPrograms.ParseTscLines(host.Console.Text).Count} of {count} lines within {Generous.TotalSeconds} s");
        return GuestPrograms.ParseTscLines(host.Console.Text).Count;
    }

    [Fact]
    public async Task Instance_start_runs_the_guest_and_get_root_says_running()
    {
        await StartTscPrinterAsync();

        WaitForLines(2);
        Assert.Equal("Running", (await Client.GetInstanceInfoAsync()).State);
    }

    [Fact]
    public async Task Pre_boot_resources_are_refused_after_start()
    {
        await StartTscPrinterAsync();
        const string afterStart = "not supported after starting the microVM";

        var refusals = new Func<Task>[]
        {
            () => Client.PutBootSourceAsync(new BootSource { KernelImagePath = "/bin/sh" }),
            () => Client.PutMachineConfigAsync(new MachineConfiguration { VcpuCount = 1, MemSizeMib = 64 }),
            () => Client.PatchMachineConfigAsync(new MachineConfiguration { MemSizeMib = 64 }),
            () => Client.PutDriveAsync(new Drive { DriveId = "d", PathOnHost = "/bin/sh", IsRootDevice = false }),
            () => Client.PutNetworkInterfaceAsync(new NetworkInterface { IfaceId = "eth0", HostDevName = "tap0" }),
            () => Client.PutVsockAsync(new Vsock { GuestCid = 3, UdsPath = "/tmp/v.sock" }),
            () => Client.PutEntropyAsync(new EntropyDevice()),
            () => Client.PutLoggerAsync(new Logger { Level = "Info" }),
            () => Client.PutMetricsAsync(new Metrics { MetricsPath = "/tmp/m" }),
            () => Client.PutSerialAsync(new SerialDevice()),
            () => Client.StartInstanceAsync(),
        };
        foreach (var request in refusals)
        {
            var error = await Assert.ThrowsAsync<FirecrackerApiException>(request);
            Assert.Equal(HttpStatusCode.BadRequest, error.StatusCode);
            Assert.Contains(afterStart, error.FaultMessage, StringComparison.Ordinal);
        }

        Assert.Contains("no drive 'rootfs' exists", (await Assert.ThrowsAsync<FirecrackerApiException>(() => Client.PatchDriveAsync(new PartialDrive { DriveId = "rootfs" }))).FaultMessage);
        Assert.Contains("no network interface 'eth0'", (await Assert.ThrowsAsync<FirecrackerApiException>(() => Client.PatchNetworkInterfaceAsync(new PartialNetworkInterface { IfaceId = "eth0" }))).FaultMessage);
        Assert.Equal("Running", (await Client.GetInstanceInfoAsync()).State);
    }

    [Fact]
    public async Task Pause_stops_guest_output_and_guest_time_and_resume_continues_both()
    {
        await StartTscPrinterAsync(spinIterations: 100_000);
        WaitForLines(3);

        await Client.PauseAsync();
        Assert.Equal("Paused", (await Client.GetInstanceInfoAsync()).State);
        string atPause = host.Console.Text;
        var pausedFor = Stopwatch.StartNew();
        SpinWait.SpinUntil(() => pausedFor.Elapsed > PauseLength);
        Assert.Equal(atPause, host.Console.Text);
        await Client.PauseAsync();

        await Client.ResumeAsync();
        var hostPause = pausedFor.Elapsed;
        Assert.Equal("Running", (await Client.GetInstanceInfoAsync()).State);
        int linesAtPause = GuestPrograms.ParseTscLines(atPause).Count;
        WaitForLines(linesAtPause + 2);

        // The guest's TSC went on from where it stood: the step across the pause is a line's worth of guest time (a few
        // milliseconds), far less than the two seconds the host spent paused. Half the pause leaves a second of margin for
        // a loaded host that descheduled the vCPU between two lines.
        var lines = GuestPrograms.ParseTscLines(host.Console.Text);
        ulong acrossPause = lines[linesAtPause] - lines[linesAtPause - 1];
        ulong tscHz = ((SoftwareVcpu)host.Controller.Built!.Machine.Vcpus[0]).Cpu.Cpuid.TscFrequencyHz;
        ulong hostPauseTicks = (ulong)(hostPause.TotalSeconds * tscHz);
        Assert.True(
            acrossPause < hostPauseTicks / 2,
            $"the TSC advanced {acrossPause} ticks across a pause of {hostPauseTicks} ticks; steps between lines: "
            + string.Join(", ", lines.Zip(lines.Skip(1), (a, b) => b - a)));
    }

    [Fact]
    public async Task Resume_while_running_is_harmless_and_vm_config_reads_back_the_running_machine()
    {
        await StartTscPrinterAsync();

        await Client.ResumeAsync();

        var config = await Client.GetVmConfigAsync();
        Assert.Equal(32, config.MachineConfig!.MemSizeMib);
        Assert.EndsWith("tsc.elf", config.BootSource!.KernelImagePath, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Flush_metrics_counts_the_guests_port_writes()
    {
        string metrics = Path.Combine(host.Directory, "metrics.json");
        await Client.PutMetricsAsync(new Metrics { MetricsPath = metrics });
        await StartTscPrinterAsync();
        WaitForLines(2);

        await Client.FlushMetricsAsync();

        var line = System.Text.Json.JsonDocument.Parse(Assert.Single(await File.ReadAllLinesAsync(metrics))).RootElement;
        long writes = line.GetProperty("vcpu").GetProperty("exit_io_out").GetInt64();
        Assert.True(writes >= 2 * 19, $"{writes} port writes for two 19-byte lines");
    }

    [Fact]
    public async Task Send_ctrl_alt_del_reaches_the_guests_keyboard_controller()
    {
        // The guest reads the i8042's status port and leaves through debug-exit with the first byte it finds.
        var poll = new Iced.Intel.Label();
        string kernel = host.WriteFile("kbd.elf", Testing.Images.Elf64Program.Build(a =>
        {
            poll = a.CreateLabel();
            a.Label(ref poll);
            a.@in(Iced.Intel.AssemblerRegisters.al, 0x64);
            a.test(Iced.Intel.AssemblerRegisters.al, 1);
            a.jz(poll);
            a.@in(Iced.Intel.AssemblerRegisters.al, 0x60);
            a.@out(0xF4, Iced.Intel.AssemblerRegisters.al);
            a.hlt();
        }));
        await Client.PutBootSourceAsync(new BootSource { KernelImagePath = kernel });
        await Client.StartInstanceAsync();

        await Client.SendCtrlAltDelAsync();

        var stop = await host.Controller.Stopped.WaitAsync(Generous);
        Assert.Equal(((0x1D << 1) | 1) & 0xFF, stop.ExitStatus);
    }
}

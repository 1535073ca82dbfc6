using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Vessel.Client;
using Vessel.Client.Models;
using Vessel.Server.Interop;
using Vessel.Server.Limits;
using Vessel.Server.Models;

namespace Vessel.Server.Vms;

/// <summary>
/// One VM: its definition in the state folder, its VMM process (started here, or re-adopted from an earlier daemon),
/// its console, and the transitions between Running, Paused, Stopped and Failed. Lifecycle requests are taken one at
/// a time; the VMM's exit is noticed at once (the process's exit event for a child of this daemon, a /proc check every
/// <see cref="AdoptedPollInterval"/> for an adopted one) and recorded with its reason.
/// </summary>
public sealed class VmSupervisor : IDisposable
{
    public static readonly TimeSpan AdoptedPollInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan TermGrace = TimeSpan.FromSeconds(3);

    private readonly ManagerOptions options;
    private readonly CgroupLimits cgroups;
    private readonly VmPaths paths;
    private readonly Lock sync = new();
    private readonly SemaphoreSlim lifecycle = new(1, 1);
    private VmRecord record;
    private Process? process;
    private ProcessIdentity? identity;
    private ConsolePipes? pipes;
    private FirecrackerClient? api;
    private Timer? adoptedWatch;
    private string? cgroup;
    private long vmmLogStart;
    private bool stopRequested;
    private string? launchFailure;
    private TaskCompletionSource exited = Completed();

    private VmSupervisor(ManagerOptions options, CgroupLimits cgroups, VmRecord record)
    {
        this.options = options;
        this.cgroups = cgroups;
        this.record = record;
        paths = new VmPaths(options.StateDirectory, record.Name);
        Console = new ConsoleLog(paths.ConsoleLog, options.ConsoleLogCapacity);
    }

    public string Name => record.Name;

    public ConsoleLog Console { get; }

    public string State
    {
        get
        {
            lock (sync)
            {
                return record.State;
            }
        }
    }

    public bool IsRunning => State is VmState.Running or VmState.Paused;

    /// <summary>Writes a new VM's folder (config.json, vm.json) and returns it Stopped.</summary>
    public static VmSupervisor Define(ManagerOptions options, CgroupLimits cgroups, string name, string configJson, int vcpus, int memSizeMib)
    {
        var paths = new VmPaths(options.StateDirectory, name);
        Directory.CreateDirectory(paths.Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.WriteAllText(paths.Config, configJson);
        var vm = new VmSupervisor(options, cgroups, new VmRecord { Name = name, State = VmState.Stopped, VcpuCount = vcpus, MemSizeMib = memSizeMib });
        vm.Save();
        return vm;
    }

    /// <summary>
    /// Writes the folder (vm.json only) of a VM restored from a snapshot and returns it Stopped; each start runs a VMM
    /// without a configuration and loads the snapshot into it. Its vCPUs and memory are known once it has been loaded.
    /// </summary>
    public static VmSupervisor DefineRestored(ManagerOptions options, CgroupLimits cgroups, string name, string snapshotPath, string memFilePath)
    {
        var paths = new VmPaths(options.StateDirectory, name);
        Directory.CreateDirectory(paths.Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var vm = new VmSupervisor(options, cgroups, new VmRecord { Name = name, State = VmState.Stopped, SnapshotPath = snapshotPath, MemFilePath = memFilePath });
        vm.Save();
        return vm;
    }

    /// <summary>
    /// Reads a VM's folder left by an earlier daemon: a VMM it recorded as running that still runs (same pid and start
    /// time) is re-adopted through its API socket; one that does not is reported Failed as lost.
    /// </summary>
    public static VmSupervisor Load(ManagerOptions options, CgroupLimits cgroups, string directory)
    {
        var paths = new VmPaths(Path.GetDirectoryName(directory)!, Path.GetFileName(directory));
        var record = JsonSerializer.Deserialize(File.ReadAllText(paths.Record), ManagerJsonContext.Default.VmRecord)
            ?? throw new InvalidDataException($"'{paths.Record}' is empty.");
        var vm = new VmSupervisor(options, cgroups, record);
        if (record.State is VmState.Running or VmState.Paused)
        {
            var recorded = record.Pid is { } pid && record.ProcessStartTicks is { } ticks ? new ProcessIdentity(pid, ticks) : (ProcessIdentity?)null;
            if (recorded is { } alive && alive.IsAlive())
            {
                vm.Adopt(alive);
            }
            else
            {
                vm.record = record with
                {
                    State = VmState.Failed,
                    Pid = null,
                    ProcessStartTicks = null,
                    Reason = $"lost: its VMM process{(record.Pid is { } gone ? $" (pid {gone})" : string.Empty)} ended while no daemon was running",
                };
                vm.Save();
            }
        }

        return vm;
    }

    public VmInfo Info()
    {
        lock (sync)
        {
            bool running = record.State is VmState.Running or VmState.Paused;
            return new VmInfo
            {
                Name = record.Name,
                State = record.State,
                Pid = running ? record.Pid : null,
                VcpuCount = record.VcpuCount,
                MemSizeMib = record.MemSizeMib,
                StartedAt = running ? record.StartedAt : null,
                UptimeSeconds = running && record.StartedAt is { } started ? Math.Round((DateTimeOffset.UtcNow - started).TotalSeconds, 1) : null,
                Reason = record.Reason,
                Limits = cgroups.Unavailable is { } note
                    ? new VmLimits { Note = $"no limits: {note}" }
                    : new VmLimits
                    {
                        CpuMax = CgroupLimits.CpuMax(record.VcpuCount),
                        MemoryMaxBytes = CgroupLimits.MemoryMax(record.MemSizeMib),
                        Cgroup = running ? cgroup : null,
                    },
                RestoredFrom = record.SnapshotPath,
            };
        }
    }

    public async Task StartAsync(CancellationToken cancellation)
    {
        await lifecycle.WaitAsync(cancellation).ConfigureAwait(false);
        try
        {
            if (IsRunning)
            {
                throw new ManagerRequestException(ManagerRequestException.Conflict, $"VM '{Name}' is already {State.ToLowerInvariant()}.");
            }

            Launch();
            await WaitUntilBootedAsync(cancellation).ConfigureAwait(false);
        }
        finally
        {
            lifecycle.Release();
        }
    }

    public Task PauseAsync(CancellationToken cancellation) => ChangeRunStateAsync(VmState.Running, VmState.Paused, cancellation);

    public Task ResumeAsync(CancellationToken cancellation) => ChangeRunStateAsync(VmState.Paused, VmState.Running, cancellation);

    /// <summary>
    /// Without <paramref name="force"/>: Ctrl-Alt-Del (a running guest only), then up to <paramref name="timeout"/> for
    /// the VMM to exit. Then SIGTERM (the VMM exits within about a second), then SIGKILL.
    /// </summary>
    public async Task StopAsync(bool force, TimeSpan timeout, CancellationToken cancellation)
    {
        await lifecycle.WaitAsync(cancellation).ConfigureAwait(false);
        try
        {
            Task done;
            ProcessIdentity? target;
            FirecrackerClient? client;
            lock (sync)
            {
                if (record.State is not (VmState.Running or VmState.Paused))
                {
                    throw new ManagerRequestException(ManagerRequestException.Conflict, $"VM '{Name}' is not running (it is {record.State}).");
                }

                stopRequested = true;
                done = exited.Task;
                target = identity;
                client = api;
                force |= record.State == VmState.Paused;
            }

            if (!force && client != null)
            {
                try
                {
                    await client.SendCtrlAltDelAsync(cancellation).ConfigureAwait(false);
                    await WaitAsync(done, timeout, cancellation).ConfigureAwait(false);
                }
                catch (Exception exception) when (IsVmmGone(exception, cancellation))
                {
                    // The VMM is going away already, or refuses: fall through to the signals.
                }
            }

            if (!done.IsCompleted)
            {
                target?.Signal(Libc.SigTerm);
                await WaitAsync(done, TermGrace, cancellation).ConfigureAwait(false);
            }

            if (!done.IsCompleted)
            {
                target?.Signal(Libc.SigKill);
                await WaitAsync(done, TermGrace, cancellation).ConfigureAwait(false);
            }

            if (!done.IsCompleted)
            {
                throw new ManagerRequestException(ManagerRequestException.Conflict, $"VM '{Name}': its VMM process (pid {target?.Pid}) did not exit after SIGKILL.");
            }
        }
        finally
        {
            lifecycle.Release();
        }
    }

    /// <summary>
    /// Snapshots a running or paused VM through its VMM's <c>PUT /snapshot/create</c>: a running VM is paused for it and
    /// resumed afterwards (also when the snapshot fails), a paused one stays paused.
    /// </summary>
    public async Task SnapshotAsync(SnapshotCreateParams snapshot, CancellationToken cancellation)
    {
        await lifecycle.WaitAsync(cancellation).ConfigureAwait(false);
        try
        {
            FirecrackerClient client;
            bool wasRunning;
            lock (sync)
            {
                if (record.State is not (VmState.Running or VmState.Paused) || api == null)
                {
                    throw new ManagerRequestException(ManagerRequestException.Conflict, $"VM '{Name}' is not running (it is {record.State}); only a running or paused VM can be snapshotted.");
                }

                client = api;
                wasRunning = record.State == VmState.Running;
            }

            try
            {
                if (wasRunning)
                {
                    await client.PauseAsync(cancellation).ConfigureAwait(false);
                }

                try
                {
                    await client.CreateSnapshotAsync(snapshot, cancellation).ConfigureAwait(false);
                }
                finally
                {
                    if (wasRunning)
                    {
                        await client.ResumeAsync(CancellationToken.None).ConfigureAwait(false);
                    }
                }
            }
            catch (FirecrackerApiException exception)
            {
                throw new ManagerRequestException(ManagerRequestException.BadRequest, $"VM '{Name}': its VMM refused the snapshot ({exception.Message.TrimEnd('.')}).");
            }
            catch (Exception exception) when (IsVmmGone(exception, cancellation))
            {
                throw new ManagerRequestException(ManagerRequestException.Conflict, $"VM '{Name}': its VMM went away during the snapshot ({exception.Message.TrimEnd('.')}).");
            }
        }
        finally
        {
            lifecycle.Release();
        }
    }

    /// <summary>Deletes the VM's folder; refused while it runs.</summary>
    public void Remove()
    {
        lock (sync)
        {
            if (record.State is VmState.Running or VmState.Paused)
            {
                throw new ManagerRequestException(ManagerRequestException.Conflict, $"VM '{Name}' is {record.State.ToLowerInvariant()}: stop it first (vessel stop {Name}).");
            }
        }

        Console.Dispose();
        cgroups.Remove(Name);
        Directory.Delete(paths.Directory, recursive: true);
    }

    /// <summary>Types <paramref name="bytes"/> into the guest's serial console (dropped when the VM is not running).</summary>
    public void WriteConsole(ReadOnlySpan<byte> bytes)
    {
        lock (sync)
        {
            pipes?.Write(bytes);
        }
    }

    /// <summary>Lets go of the VM without stopping it (the daemon is shutting down; a later daemon re-adopts it).</summary>
    public void Dispose()
    {
        lock (sync)
        {
            adoptedWatch?.Dispose();
            if (process != null)
            {
                process.EnableRaisingEvents = false;
                process.Dispose();
            }

            pipes?.Dispose();
            api?.Dispose();
            pipes = null;
            api = null;
        }

        Console.Dispose();
    }

    private static TaskCompletionSource Completed()
    {
        var source = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        source.SetResult();
        return source;
    }

    /// <summary>
    /// What a request to a VMM's API raises when the VMM refuses, is not listening, or exits meanwhile (its client is
    /// disposed with the exit: in-flight requests end as disposed or cancelled, which the caller did not ask for).
    /// </summary>
    private static bool IsVmmGone(Exception exception, CancellationToken cancellation) =>
        exception is FirecrackerApiException or HttpRequestException or SocketException or ObjectDisposedException
        || (exception is OperationCanceledException && !cancellation.IsCancellationRequested);

    private static async Task WaitAsync(Task task, TimeSpan timeout, CancellationToken cancellation)
    {
        try
        {
            await task.WaitAsync(timeout, cancellation).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // The caller checks task.IsCompleted and escalates.
        }
    }

    private async Task ChangeRunStateAsync(string from, string to, CancellationToken cancellation)
    {
        await lifecycle.WaitAsync(cancellation).ConfigureAwait(false);
        try
        {
            FirecrackerClient client;
            lock (sync)
            {
                if (record.State == to)
                {
                    return;
                }

                if (record.State != from || api == null)
                {
                    throw new ManagerRequestException(ManagerRequestException.Conflict, $"VM '{Name}' is {record.State}: only a {from.ToLowerInvariant()} VM can be {(to == VmState.Paused ? "paused" : "resumed")}.");
                }

                client = api;
            }

            try
            {
                await (to == VmState.Paused ? client.PauseAsync(cancellation) : client.ResumeAsync(cancellation)).ConfigureAwait(false);
            }
            catch (Exception exception) when (IsVmmGone(exception, cancellation))
            {
                throw new ManagerRequestException(ManagerRequestException.Conflict, $"VM '{Name}': its VMM refused or went away ({exception.Message.TrimEnd('.')}).");
            }

            lock (sync)
            {
                if (record.State == from)
                {
                    record = record with { State = to };
                    Save();
                }
            }
        }
        finally
        {
            lifecycle.Release();
        }
    }

    private void Launch()
    {
        File.Delete(paths.ApiSocket);
        // A restored VM's size is known once its snapshot has been loaded: until then (its first start) it runs
        // without its group, and joins it after the load (LoadSnapshotAsync).
        bool restored = record.SnapshotPath != null;
        string? group = record.VcpuCount > 0 ? cgroups.Prepare(Name, record.VcpuCount, record.MemSizeMib) : null;
        vmmLogStart = File.Exists(paths.VmmLog) ? new FileInfo(paths.VmmLog).Length : 0;
        var consolePipes = ConsolePipes.Open(paths, Console);
        Process child;
        try
        {
            child = new Process { StartInfo = options.Vmm.StartInfo(paths, Name, group, withConfig: !restored), EnableRaisingEvents = true };
            child.Exited += (_, _) => OnExited(child);
            child.Start();
        }
        catch (Exception exception) when (exception is System.ComponentModel.Win32Exception or IOException)
        {
            consolePipes.Dispose();
            throw new ManagerRequestException(ManagerRequestException.BadRequest, $"VM '{Name}': cannot start its VMM process ({exception.Message}).");
        }

        bool exitedEarly;
        lock (sync)
        {
            process = child;
            pipes = consolePipes;
            cgroup = group;
            identity = ProcessIdentity.Of(child.Id) ?? new ProcessIdentity(child.Id, 0);
            api = new FirecrackerClient(paths.ApiSocket);
            stopRequested = false;
            launchFailure = null;
            exited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            record = record with
            {
                State = VmState.Running,
                Pid = child.Id,
                ProcessStartTicks = identity.Value.StartTicks,
                StartedAt = DateTimeOffset.UtcNow,
                Reason = null,
            };
            Save();

            // A VMM that exited before it became this VM's process had its Exited event ignored: record it now.
            // (Checked under the lock: OnExited disposes the process once it has recorded the exit.)
            exitedEarly = child.HasExited;
        }

        if (exitedEarly)
        {
            OnExited(child);
        }
    }

    private async Task WaitUntilBootedAsync(CancellationToken cancellation)
    {
        Task done;
        FirecrackerClient? client;
        lock (sync)
        {
            done = exited.Task;
            client = api;
        }

        var deadline = Stopwatch.StartNew();
        bool restore = record.SnapshotPath != null;
        while (client != null && !done.IsCompleted && deadline.Elapsed < options.StartTimeout)
        {
            try
            {
                var info = await client.GetInstanceInfoAsync(cancellation).ConfigureAwait(false);
                if (info.State is "Running" or "Paused")
                {
                    return;
                }

                if (restore)
                {
                    // Its API answers and nothing is configured: load the snapshot, running.
                    await LoadSnapshotAsync(client, done, cancellation).ConfigureAwait(false);
                    return;
                }
            }
            catch (Exception exception) when (IsVmmGone(exception, cancellation) || exception is JsonException)
            {
                // Not listening yet, or exited meanwhile (the loop's condition sees that).
            }

            await Task.WhenAny(done, Task.Delay(50, cancellation)).ConfigureAwait(false);
        }

        if (done.IsCompleted)
        {
            throw new ManagerRequestException(ManagerRequestException.BadRequest, $"VM '{Name}' failed to start: {Info().Reason}.");
        }

        throw new ManagerRequestException(ManagerRequestException.Conflict, $"VM '{Name}': its VMM did not report the machine running within {options.StartTimeout.TotalSeconds:0} s; it is left running (see vessel logs {Name}, and {paths.VmmLog}).");
    }

    /// <summary>
    /// Loads the VM's snapshot into its fresh VMM (<c>PUT /snapshot/load</c> with <c>resume_vm</c>), then learns its
    /// size from the VMM and puts it in its cgroup. A load the VMM refuses ends the VMM and fails the VM with its reason.
    /// </summary>
    private async Task LoadSnapshotAsync(FirecrackerClient client, Task done, CancellationToken cancellation)
    {
        try
        {
            await client.LoadSnapshotAsync(
                new SnapshotLoadParams
                {
                    SnapshotPath = record.SnapshotPath!,
                    MemBackend = new MemoryBackend { BackendType = MemoryBackend.File, BackendPath = record.MemFilePath! },
                    ResumeVm = true,
                },
                cancellation).ConfigureAwait(false);
        }
        catch (FirecrackerApiException exception)
        {
            ProcessIdentity? target;
            lock (sync)
            {
                launchFailure = $"its snapshot could not be restored: {exception.Message.TrimEnd('.')}";
                target = identity;
            }

            target?.Signal(Libc.SigKill);
            await WaitAsync(done, TermGrace, cancellation).ConfigureAwait(false);
            throw new ManagerRequestException(ManagerRequestException.BadRequest, $"VM '{Name}' failed to start: {launchFailure}.");
        }

        var machine = await client.GetMachineConfigAsync(cancellation).ConfigureAwait(false);
        int vcpus = machine.VcpuCount ?? 1;
        int memSizeMib = machine.MemSizeMib ?? 128;
        ProcessIdentity? running;
        lock (sync)
        {
            record = record with { VcpuCount = vcpus, MemSizeMib = memSizeMib };
            Save();
            running = identity;
        }

        if (cgroup == null && running is { } vmm && cgroups.Prepare(Name, vcpus, memSizeMib) is { } group)
        {
            File.WriteAllText(Path.Combine(group, "cgroup.procs"), vmm.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
            lock (sync)
            {
                cgroup = group;
            }
        }
    }

    private void Adopt(ProcessIdentity alive)
    {
        identity = alive;
        cgroup = cgroups.Unavailable == null ? cgroups.Prepare(Name, record.VcpuCount, record.MemSizeMib) : null;
        pipes = ConsolePipes.Open(paths, Console);
        api = new FirecrackerClient(paths.ApiSocket);
        exited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        vmmLogStart = File.Exists(paths.VmmLog) ? new FileInfo(paths.VmmLog).Length : 0;
        adoptedWatch = new Timer(_ => CheckAdopted(), null, AdoptedPollInterval, AdoptedPollInterval);
        try
        {
            // Paused or running, as the VMM itself says now.
            var info = api.GetInstanceInfoAsync().WaitAsync(TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
            record = record with { State = info.State == "Paused" ? VmState.Paused : VmState.Running };
            Save();
        }
        catch (Exception exception) when (IsVmmGone(exception, CancellationToken.None) || exception is JsonException or TimeoutException)
        {
            // Its API does not answer (yet): keep the recorded state; the exit watch still runs.
        }
    }

    private void CheckAdopted()
    {
        ProcessIdentity? watched;
        lock (sync)
        {
            watched = identity;
        }

        if (watched is { } alive && !alive.IsAlive())
        {
            OnExited(null);
        }
    }

    private void OnExited(Process? child)
    {
        int? status = null;
        lock (sync)
        {
            // An exit event for a process that is not (or no longer) this VM's, or a second report of the same exit.
            if ((child != null && !ReferenceEquals(child, process)) || record.State is not (VmState.Running or VmState.Paused))
            {
                return;
            }

            if (child != null)
            {
                // It has exited (its Exited event, or HasExited): this only collects the status.
                child.WaitForExit();
                status = child.ExitCode;
            }

            pipes?.Drain();
            pipes?.Dispose();
            pipes = null;
            api?.Dispose();
            api = null;
            adoptedWatch?.Dispose();
            adoptedWatch = null;
            process?.Dispose();
            process = null;
            identity = null;

            string? lastError = LastVmmLogLine();
            bool failed = launchFailure != null || (!stopRequested && status != 0);
            record = record with
            {
                State = failed ? VmState.Failed : VmState.Stopped,
                Pid = null,
                ProcessStartTicks = null,
                Reason = launchFailure ?? Describe(status, stopRequested, lastError),
            };
            Save();
            exited.TrySetResult();
        }

        Console.CompleteSubscribers();
        cgroups.Remove(Name);
    }

    private static string Describe(int? status, bool requested, string? lastError)
    {
        string how = status switch
        {
            null => "its VMM process ended (exit status unknown: it was re-adopted from an earlier daemon)",
            0 => "the guest powered off or reset (exit status 0)",
            > 128 and < 160 => $"its VMM process ended on {SignalName(status.Value - 128)} (exit status {status})",
            _ => $"its VMM process exited with status {status}",
        };
        if (requested)
        {
            return $"stopped on request; {how}";
        }

        // The VMM's own last word explains an exit status it chose (1: a VMM error); a signal is its own reason.
        return lastError != null && status is > 0 and <= 128 ? $"{how}: {lastError}" : how;
    }

    private static string SignalName(int signal) => signal switch
    {
        1 => "SIGHUP",
        2 => "SIGINT",
        6 => "SIGABRT",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        15 => "SIGTERM",
        _ => $"signal {signal}",
    };

    private string? LastVmmLogLine()
    {
        try
        {
            using var log = new FileStream(paths.VmmLog, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            long from = Math.Max(vmmLogStart, log.Length - 4096);
            log.Position = from;
            var bytes = new byte[log.Length - from];
            log.ReadExactly(bytes);
            return Encoding.UTF8.GetString(bytes).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        }
        catch (IOException)
        {
            return null;
        }
    }

    private void Save()
    {
        string temporary = paths.Record + ".new";
        File.WriteAllBytes(temporary, JsonSerializer.SerializeToUtf8Bytes(record, ManagerJsonContext.Default.VmRecord));
        File.Move(temporary, paths.Record, overwrite: true);
    }
}

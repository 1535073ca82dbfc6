using System.Diagnostics;
using System.Text;
using Vessel.Core.Interrupts;
using Vessel.Core.Logging;
using Vessel.Testing.Serial;
using Vessel.Vmm.Building;
using Vessel.Vmm.Configuration;
using Vessel.Vmm.Images;
using Vessel.Vmm.Snapshots;

namespace Vessel.Guests.Tests.Linux;

/// <summary>
/// The cached Debian kernel and busybox initramfs, booted through the same builder as <c>vessel demo</c>, with a shell
/// driven through the console UART: commands go in with <c>EnqueueInput</c>, their output is read back between markers.
/// With disks, the first can hold the root file system (<see cref="GuestImages.RootOnFirstDisk"/> on the command line).
/// </summary>
public sealed class LinuxGuest : IDisposable
{
    public const string CommandLine = "console=ttyS0 panic=-1";

    /// <summary>The end of the initramfs's prompt (PS1 'vessel:\w# '): the shell reads the console from here on.</summary>
    public const string PromptEnd = "# ";

    private readonly BuiltMachine built;
    private readonly CapturingSerialOutput console = new();
    private readonly Thread runner;
    private readonly CancellationTokenSource hostStop = new();
    private readonly TimeSpan commandTimeout;
    private MachineStop? stop;
    private int commandNumber;
    private int consumed;

    private LinuxGuest(string accelerator, int vcpus, ulong memoryBytes, IReadOnlyList<DiskConfig> disks, string? extraCommandLine, IReadOnlyList<NetworkInterfaceConfig>? networks = null, string? initrdPath = null, VsockConfig? vsock = null)
    {
        var images = GuestImages.TryLoad(out string reason) ?? throw new InvalidOperationException(reason);
        var config = new MachineConfig
        {
            KernelPath = images.BzImagePath,
            InitrdPath = initrdPath ?? images.InitramfsPath,
            Vsock = vsock,
            CommandLine = extraCommandLine == null ? CommandLine : $"{CommandLine} {extraCommandLine}",
            MemoryBytes = memoryBytes,
            VcpuCount = vcpus,
            Disks = disks,
            NetworkInterfaces = networks ?? [],
        };
        built = MachineBuilder.Build(config, GuestAccelerators.Create(accelerator), console, NullMachineLog.Instance);
        commandTimeout = GuestAccelerators.BootTimeout(accelerator) / 4;
        runner = new Thread(() => stop = built.Machine.Run(hostStop.Token)) { IsBackground = true, Name = "linux-guest" };
    }

    /// <summary>A snapshot's machine restored in this process with a fresh console; <see cref="Restore"/> resumes it.</summary>
    private LinuxGuest(string accelerator, string statePath, string memoryPath, bool trackDirtyPages)
    {
        var restored = MachineSnapshot.Restore(statePath, memoryPath, resume: false, trackDirtyPages, _ => GuestAccelerators.Create(accelerator), console, NullMachineLog.Instance);
        built = restored.Built;
        commandTimeout = GuestAccelerators.BootTimeout(accelerator) / 4;
        var machine = built.Machine;
        runner = new Thread(() =>
        {
            using var registration = hostStop.Token.Register(() => machine.RequestStop(MachineStop.HostRequest()));
            machine.Resume();
            stop = machine.WaitForStop();
        })
        { IsBackground = true, Name = "linux-guest" };
    }

    /// <summary>
    /// Restores a snapshot written by <see cref="Snapshot"/> (from another <see cref="LinuxGuest"/>, since disposed) and
    /// resumes it: the shell that was running goes on, and <see cref="Run"/> drives it through the new console.
    /// </summary>
    public static LinuxGuest Restore(string accelerator, string statePath, string memoryPath, bool trackDirtyPages = false)
    {
        var guest = new LinuxGuest(accelerator, statePath, memoryPath, trackDirtyPages);
        guest.runner.Start();
        return guest;
    }

    /// <summary>Pauses the guest and writes its snapshot; it stays paused (dispose it, as a killed VMM would be gone).</summary>
    public SnapshotResult Snapshot(SnapshotType type, string statePath, string memoryPath)
    {
        built.Machine.Pause();
        return MachineSnapshot.Create(built, type, statePath, memoryPath);
    }

    /// <summary>Time from starting the vCPUs to the initramfs's userspace marker.</summary>
    public TimeSpan TimeToUserspace { get; private set; }

    public string Console => console.Text;

    /// <summary>The whole line that announced userspace (it ends with <c>root /dev/vda</c> when the root is on a disk).</summary>
    public string UserspaceLine { get; private set; } = string.Empty;

    /// <summary>Boots to the shell prompt, or throws with the console's tail.</summary>
    public static LinuxGuest Boot(string accelerator, int vcpus, ulong memoryBytes) => Boot(accelerator, vcpus, memoryBytes, [], null);

    /// <summary>Boots with virtio-net interfaces.</summary>
    public static LinuxGuest Boot(string accelerator, int vcpus, ulong memoryBytes, IReadOnlyList<NetworkInterfaceConfig> networks) =>
        Boot(accelerator, vcpus, memoryBytes, [], null, networks);

    /// <summary>Boots an initramfs of the test's own (the cached one with more appended), optionally with vsock and networks.</summary>
    public static LinuxGuest Boot(
        string accelerator, int vcpus, ulong memoryBytes, string initrdPath, VsockConfig? vsock, IReadOnlyList<NetworkInterfaceConfig>? networks = null, string? extraCommandLine = null) =>
        Start(new LinuxGuest(accelerator, vcpus, memoryBytes, [], extraCommandLine, networks, initrdPath, vsock), accelerator);

    /// <summary>Boots with <paramref name="disks"/> (vda, vdb, ... in order) and kernel arguments after <see cref="CommandLine"/>.</summary>
    public static LinuxGuest Boot(string accelerator, int vcpus, ulong memoryBytes, IReadOnlyList<DiskConfig> disks, string? extraCommandLine, IReadOnlyList<NetworkInterfaceConfig>? networks = null) =>
        Start(new LinuxGuest(accelerator, vcpus, memoryBytes, disks, extraCommandLine, networks), accelerator);

    private static LinuxGuest Start(LinuxGuest guest, string accelerator)
    {
        try
        {
            var clock = Stopwatch.StartNew();
            guest.runner.Start();
            int markerEnd = guest.console.WaitFor(GuestImages.UserspaceMarker, GuestAccelerators.BootTimeout(accelerator), giveUp: guest.StoppedReason);
            guest.TimeToUserspace = clock.Elapsed;
            guest.consumed = guest.console.WaitFor("\n", guest.commandTimeout, markerEnd, guest.StoppedReason);
            guest.UserspaceLine = GuestImages.UserspaceMarker + guest.Console[markerEnd..guest.consumed].TrimEnd('\r', '\n');
            guest.consumed = guest.console.WaitFor(PromptEnd, guest.commandTimeout, guest.consumed, guest.StoppedReason);

            // Late kernel messages (module and security notices) would otherwise land in the middle of a command's
            // output on the shared console; from here on only emergencies reach it.
            guest.Run("dmesg -n 1");
            return guest;
        }
        catch
        {
            guest.Dispose();
            throw;
        }
    }

    /// <summary>Runs <paramref name="command"/> in the guest's shell and returns what it printed, lines joined with \n.</summary>
    /// <remarks>
    /// The terminal echoes what is typed, so the markers are written split by quotes (<c>'@@''end-3'</c>): the echo shows the
    /// quotes, only the command's own output contains the joined marker.
    /// </remarks>
    public string Run(string command)
    {
        int number = ++commandNumber;
        string begin = $"@@begin-{number}";
        string end = $"@@end-{number}";
        built.Console.EnqueueInput(Encoding.ASCII.GetBytes($"echo '@@''begin-{number}'; {command}; echo '@@''end-{number}'\n"));
        int outputStart = console.WaitFor(begin + "\r\n", commandTimeout, consumed, StoppedReason);
        int afterEnd = console.WaitFor(end, commandTimeout, outputStart, StoppedReason);
        consumed = afterEnd;
        string output = Console[outputStart..(afterEnd - end.Length)];
        return output.Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd('\n');
    }

    /// <summary>Types <paramref name="command"/> (poweroff, reboot) and waits for the machine to stop.</summary>
    public MachineStop RunUntilStop(string command)
    {
        built.Console.EnqueueInput(Encoding.ASCII.GetBytes(command + "\n"));
        if (!runner.Join(commandTimeout))
        {
            throw new TimeoutException($"The machine did not stop within {commandTimeout.TotalSeconds:0} s of '{command}'. Last console output:\n{Tail()}");
        }

        return stop!.Value;
    }

    public void Dispose()
    {
        if (runner.IsAlive)
        {
            hostStop.Cancel();
            runner.Join(TimeSpan.FromSeconds(10));
        }

        built.Dispose();
        hostStop.Dispose();
    }

    private string? StoppedReason() => runner.IsAlive || stop is not { } stopped ? null : $"the machine stopped: {stopped.Reason} {stopped.Detail}";

    private string Tail()
    {
        string text = Console;
        return text.Length > 2000 ? text[^2000..] : text;
    }
}

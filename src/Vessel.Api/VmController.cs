using System.Text.RegularExpressions;
using Vessel.Api.Logging;
using Vessel.Boot;
using Vessel.Client.Models;
using Vessel.Core.Interrupts;
using Vessel.Core.Logging;
using Vessel.Core.Snapshots;
using Vessel.Devices.Serial;
using Vessel.Vmm.Building;
using Vessel.Vmm.Configuration;
using Vessel.Vmm.Running;
using Vessel.Vmm.Snapshots;

namespace Vessel.Api;

/// <summary>
/// One microVM as Firecracker's API sees it: the configuration collected before InstanceStart, then the running
/// <see cref="Machine"/>, which owns the Running &lt;-> Paused -> Stopped transitions. Every method validates as
/// Firecracker does and throws <see cref="ApiRequestException"/> with the fault message on refusal. Requests are
/// serialized by one lock, so a configuration change never races InstanceStart.
/// </summary>
public sealed partial class VmController : IDisposable
{
    public const string AppName = "Vessel";

    /// <summary>The Firecracker API version whose swagger the endpoints follow (GET /version).</summary>
    public const string FirecrackerApiVersion = "1.13.0";

    /// <summary>
    /// boot_args when none are given: the console on COM1, and Firecracker's reboot=k panic=1 (a guest reboot goes
    /// through the keyboard controller and ends the VMM; a panic reboots). Firecracker's own default also has
    /// pci=off and 8250.nr_uarts=0, which would hide Vessel's PCI devices and its console.
    /// </summary>
    public const string DefaultBootArgs = "console=ttyS0 reboot=k panic=1";

    /// <summary>Firecracker's limit on vcpu_count.</summary>
    public const int MaxVcpuCount = 32;

    /// <summary>Linux's IFNAMSIZ less the terminator: a TAP device name is at most 15 bytes.</summary>
    private const int MaxInterfaceNameLength = 15;

    private const string AfterStartRefusal = "The requested operation is not supported after starting the microVM.";
    private const string BeforeStartRefusal = "The requested operation is not supported before starting the microVM.";

    /// <summary>How long a stopped machine's console output may take to reach stdout before the process goes on to exit.</summary>
    private static readonly TimeSpan OutputDrainBound = TimeSpan.FromMilliseconds(500);

    private readonly Lock sync = new();
    private readonly MachineFactory factory;
    private readonly SnapshotRestorer? restorer;
    private readonly IMachineLog hostLog;
    private readonly TaskCompletionSource<MachineStop> stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<Drive> drives = [];
    private readonly List<NetworkInterface> networkInterfaces = [];
    private BootSource? bootSource;
    private MachineConfiguration machineConfiguration = new()
    {
        VcpuCount = 1,
        MemSizeMib = 128,
        Smt = false,
        TrackDirtyPages = false,
        HugePages = "None",
    };

    private Vsock? vsock;
    private EntropyDevice? entropy;
    private Logger? logger;
    private Client.Models.Metrics? metricsConfig;
    private SerialDevice? serial;
    private BuiltMachine? built;
    private FileSerialOutput? serialFile;
    private ConsoleSerialOutput? consoleOutput;
    private Timer? metricsTimer;
    private bool machineConfigured;

    public VmController(MachineFactory factory, IMachineLog hostLog, string instanceId = "anonymous-instance", SnapshotRestorer? restorer = null)
    {
        this.factory = factory;
        this.restorer = restorer;
        this.hostLog = hostLog;
        InstanceId = instanceId;
        Log = new VmmLog(hostLog, instanceId);
    }

    public string InstanceId { get; }

    public VmmLog Log { get; }

    public MetricsSink MetricsSink { get; } = new();

    /// <summary>Completes when the machine stops, with why; the host process then exits with its status.</summary>
    public Task<MachineStop> Stopped => stopped.Task;

    /// <summary>The machine once started, else null.</summary>
    public BuiltMachine? Built
    {
        get
        {
            lock (sync)
            {
                return built;
            }
        }
    }

    private bool Started => built != null;

    public InstanceInfo GetInstanceInfo()
    {
        lock (sync)
        {
            return new InstanceInfo { AppName = AppName, Id = InstanceId, State = StateName(), VmmVersion = VmmVersion };
        }
    }

    public static string VmmVersion =>
        typeof(VmController).Assembly.GetName().Version is { } version ? $"{version.Major}.{version.Minor}.{version.Build}" : "0.0.0";

    public void PutBootSource(BootSource source)
    {
        lock (sync)
        {
            RequireNotStarted();
            RequireFile(source.KernelImagePath, ConfigField.KernelPath, "a vmlinux, bzImage or multiboot image");
            if (source.InitrdPath != null)
            {
                RequireFile(source.InitrdPath, ConfigField.InitrdPath, "an initramfs (cpio, optionally compressed)");
            }

            bootSource = source;
        }
    }

    public MachineConfiguration GetMachineConfig()
    {
        lock (sync)
        {
            return machineConfiguration;
        }
    }

    public void PutMachineConfig(MachineConfiguration config)
    {
        if (config.VcpuCount is null || config.MemSizeMib is null)
        {
            throw new ApiRequestException("machine-config: vcpu_count and mem_size_mib are required (use PATCH /machine-config to change some fields only).");
        }

        // PUT replaces: what it leaves out takes Firecracker's defaults again.
        ApplyMachineConfig(config, new MachineConfiguration { Smt = false, TrackDirtyPages = false, HugePages = "None" });
    }

    public void PatchMachineConfig(MachineConfiguration config)
    {
        lock (sync)
        {
            ApplyMachineConfig(config, machineConfiguration);
        }
    }

    public void PutDrive(string pathId, Drive drive)
    {
        lock (sync)
        {
            RequireNotStarted();
            RequireMatchingId(pathId, drive.DriveId);
            RequireId(drive.DriveId, "drive_id");
            if (drive.Socket != null)
            {
                throw new ApiRequestException("socket: vhost-user block devices are not supported. Give path_on_host instead.");
            }

            if (drive.PathOnHost is null)
            {
                throw new ApiRequestException("path_on_host: required for a virtio-block drive. Give the disk image's path.");
            }

            if (drive.IsRootDevice is null)
            {
                throw new ApiRequestException("is_root_device: required. Say whether this drive holds the root filesystem.");
            }

            RequireFile(drive.PathOnHost, ConfigField.DrivePath, $"a disk image for drive '{drive.DriveId}'");
            RequireOneOf("cache_type", drive.CacheType, "Unsafe", "Writeback");
            RequireOneOf("io_engine", drive.IoEngine, "Sync", "Async");
            ValidateRateLimiter("rate_limiter", drive.RateLimiter);
            if (drive.IsRootDevice == true && drives.Any(d => d.IsRootDevice == true && d.DriveId != drive.DriveId))
            {
                throw new ApiRequestException("is_root_device: a root block device already exists. Only one drive can be the root device.");
            }

            int index = drives.FindIndex(d => d.DriveId == drive.DriveId);
            if (index >= 0)
            {
                drives[index] = drive;
            }
            else
            {
                drives.Add(drive);
            }
        }
    }

    public void PatchDrive(string pathId, PartialDrive drive)
    {
        lock (sync)
        {
            RequireMatchingId(pathId, drive.DriveId);
            if (!Started)
            {
                throw new ApiRequestException(BeforeStartRefusal);
            }

            if (!drives.Any(d => d.DriveId == drive.DriveId))
            {
                throw new ApiRequestException($"drive_id: no drive '{drive.DriveId}' exists. PUT it before starting the microVM.");
            }

            if (drive.PathOnHost != null)
            {
                RequireFile(drive.PathOnHost, ConfigField.DrivePath, $"a disk image for drive '{drive.DriveId}'");
            }

            ValidateRateLimiter("rate_limiter", drive.RateLimiter);
            throw new ApiRequestException($"drive '{drive.DriveId}': updating a drive of a running microVM is not supported yet.");
        }
    }

    public void PutNetworkInterface(string pathId, NetworkInterface network)
    {
        lock (sync)
        {
            RequireNotStarted();
            RequireMatchingId(pathId, network.IfaceId);
            RequireId(network.IfaceId, "iface_id");
            if (network.HostDevName.Length == 0 || network.HostDevName.Length > MaxInterfaceNameLength || network.HostDevName.Contains('/'))
            {
                throw new ApiRequestException($"host_dev_name: '{network.HostDevName}' is not a network device name. Give a TAP device name of 1 to {MaxInterfaceNameLength} characters.");
            }

            if (network.GuestMac != null && !MacAddressPattern().IsMatch(network.GuestMac))
            {
                throw new ApiRequestException($"guest_mac: '{network.GuestMac}' is not a MAC address. Give six hex byte pairs separated by colons, e.g. 06:00:AC:10:00:02.");
            }

            if (network.Mtu is < 68 or > 65535)
            {
                throw new ApiRequestException($"mtu: {network.Mtu} is out of range. Give 68 to 65535.");
            }

            ValidateRateLimiter("rx_rate_limiter", network.RxRateLimiter);
            ValidateRateLimiter("tx_rate_limiter", network.TxRateLimiter);
            foreach (var other in networkInterfaces.Where(n => n.IfaceId != network.IfaceId))
            {
                if (other.HostDevName == network.HostDevName)
                {
                    throw new ApiRequestException($"host_dev_name: '{network.HostDevName}' is already used by interface '{other.IfaceId}'.");
                }

                if (network.GuestMac != null && string.Equals(other.GuestMac, network.GuestMac, StringComparison.OrdinalIgnoreCase))
                {
                    throw new ApiRequestException($"guest_mac: '{network.GuestMac}' is already used by interface '{other.IfaceId}'.");
                }
            }

            int index = networkInterfaces.FindIndex(n => n.IfaceId == network.IfaceId);
            if (index >= 0)
            {
                networkInterfaces[index] = network;
            }
            else
            {
                networkInterfaces.Add(network);
            }
        }
    }

    public void PatchNetworkInterface(string pathId, PartialNetworkInterface network)
    {
        lock (sync)
        {
            RequireMatchingId(pathId, network.IfaceId);
            if (!Started)
            {
                throw new ApiRequestException(BeforeStartRefusal);
            }

            ValidateRateLimiter("rx_rate_limiter", network.RxRateLimiter);
            ValidateRateLimiter("tx_rate_limiter", network.TxRateLimiter);

            // A microVM with network interfaces cannot start yet, so a running one has none to update.
            throw new ApiRequestException($"iface_id: no network interface '{network.IfaceId}' exists.");
        }
    }

    public void PutVsock(Vsock device)
    {
        lock (sync)
        {
            RequireNotStarted();
            if (device.GuestCid < VsockConfig.MinGuestCid || device.GuestCid > uint.MaxValue)
            {
                throw new ApiRequestException($"guest_cid: {device.GuestCid} is out of range. Give {VsockConfig.MinGuestCid} to {uint.MaxValue} (0-2 are reserved).");
            }

            if (string.IsNullOrWhiteSpace(device.UdsPath))
            {
                throw new ApiRequestException("uds_path: empty. Give the path of the Unix socket that guest connections reach.");
            }

            vsock = device;
        }
    }

    public void PutEntropy(EntropyDevice device)
    {
        lock (sync)
        {
            RequireNotStarted();
            ValidateRateLimiter("rate_limiter", device.RateLimiter);
            if (device.RateLimiter is { Bandwidth: not null } or { Ops: not null })
            {
                throw new ApiRequestException("rate_limiter: rate limiting the entropy device is not supported yet.");
            }

            entropy = device;
        }
    }

    public void PutLogger(Logger config)
    {
        lock (sync)
        {
            RequireNotStarted();
            var level = LogLevel.Info;
            if (config.Level != null && !Enum.TryParse(config.Level, ignoreCase: true, out level))
            {
                throw new ApiRequestException($"level: '{config.Level}' is not a log level. Give Error, Warning, Info, Debug, Trace or Off.");
            }

            if (config.LogPath != null)
            {
                try
                {
                    Log.Configure(config.LogPath, level, config.ShowLevel ?? false);
                }
                catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or ArgumentException)
                {
                    throw new ApiRequestException($"log_path: '{config.LogPath}' cannot be opened for writing ({exception.Message}).");
                }
            }

            logger = config;
        }
    }

    public void PutMetrics(Client.Models.Metrics config)
    {
        lock (sync)
        {
            RequireNotStarted();
            if (metricsConfig != null)
            {
                // Firecracker's metrics system can be initialized only once.
                throw new ApiRequestException("metrics: already configured; the metrics file can be set only once.");
            }

            try
            {
                MetricsSink.Configure(config.MetricsPath);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or ArgumentException)
            {
                throw new ApiRequestException($"metrics_path: '{config.MetricsPath}' cannot be opened for writing ({exception.Message}).");
            }

            metricsConfig = config;
        }
    }

    public void PutSerial(SerialDevice config)
    {
        lock (sync)
        {
            RequireNotStarted();
            if (config.RateLimiter != null)
            {
                throw new ApiRequestException("rate_limiter: rate limiting the serial console is not supported yet.");
            }

            if (config.SerialOutPath != null)
            {
                string? directory = Path.GetDirectoryName(Path.GetFullPath(config.SerialOutPath));
                if (directory != null && !Directory.Exists(directory))
                {
                    throw new ApiRequestException($"serial_out_path: the directory of '{config.SerialOutPath}' does not exist.");
                }
            }

            serial = config;
        }
    }

    public void PerformAction(InstanceActionInfo action)
    {
        switch (action.ActionType)
        {
            case InstanceActionInfo.InstanceStart:
                Start();
                break;
            case InstanceActionInfo.SendCtrlAltDel:
                lock (sync)
                {
                    RequireRunningMachine().Keyboard.SendCtrlAltDel();
                }

                break;
            case InstanceActionInfo.FlushMetrics:
                lock (sync)
                {
                    if (!MetricsSink.Flush(built?.Machine.Metrics, StateName()))
                    {
                        throw new ApiRequestException("FlushMetrics: metrics are not configured. PUT /metrics with a metrics_path first.");
                    }
                }

                break;
            default:
                throw new ApiRequestException($"action_type: '{action.ActionType}' is not an action. Give InstanceStart, SendCtrlAltDel or FlushMetrics.");
        }
    }

    public void PatchVm(Vm vm)
    {
        lock (sync)
        {
            if (vm.State is not (Vm.Paused or Vm.Resumed))
            {
                throw new ApiRequestException($"state: '{vm.State}' is not a VM state. Give Paused or Resumed.");
            }

            var machine = RequireRunningMachine().Machine;
            try
            {
                if (vm.State == Vm.Paused)
                {
                    machine.Pause();
                    Log.Write(LogLevel.Info, "vmm", "paused the microVM");
                }
                else
                {
                    machine.Resume();
                    Log.Write(LogLevel.Info, "vmm", "resumed the microVM");
                }
            }
            catch (MachineStateException exception)
            {
                throw new ApiRequestException(exception.Message);
            }
        }
    }

    public FullVmConfiguration GetVmConfig()
    {
        lock (sync)
        {
            return new FullVmConfiguration
            {
                BootSource = bootSource,
                MachineConfig = machineConfiguration,
                Drives = [.. drives],
                NetworkInterfaces = [.. networkInterfaces],
                Vsock = vsock,
                Entropy = entropy,
                Logger = logger,
                Metrics = metricsConfig,
            };
        }
    }

    /// <summary>
    /// Applies a whole configuration file (<c>--config-file</c>) through the same checks as the endpoints, then starts the
    /// microVM, as Firecracker does with <c>--config-file</c>.
    /// </summary>
    public void ApplyConfigFile(FullVmConfiguration file)
    {
        RefuseUnsupportedSection("balloon", file.Balloon);
        RefuseUnsupportedSection("mmds-config", file.MmdsConfig);
        RefuseUnsupportedSection("cpu-config", file.CpuConfig);
        RefuseUnsupportedSection("memory-hotplug", file.MemoryHotplug);
        RefuseUnsupportedSection("pmem", file.Pmem);
        if (file.Logger != null)
        {
            PutLogger(file.Logger);
        }

        if (file.Metrics != null)
        {
            PutMetrics(file.Metrics);
        }

        if (file.BootSource == null)
        {
            throw new ApiRequestException("boot-source: missing. A configuration file must name the kernel (boot-source.kernel_image_path).");
        }

        PutBootSource(file.BootSource);
        if (file.MachineConfig != null)
        {
            PutMachineConfig(file.MachineConfig);
        }

        foreach (var drive in file.Drives ?? [])
        {
            PutDrive(drive.DriveId, drive);
        }

        foreach (var network in file.NetworkInterfaces ?? [])
        {
            PutNetworkInterface(network.IfaceId, network);
        }

        if (file.Vsock != null)
        {
            PutVsock(file.Vsock);
        }

        if (file.Entropy != null)
        {
            PutEntropy(file.Entropy);
        }

        if (file.Serial != null)
        {
            PutSerial(file.Serial);
        }

        Start();
    }

    /// <summary>The machine configuration InstanceStart would build, from what the API collected.</summary>
    public MachineConfig ToMachineConfig()
    {
        lock (sync)
        {
            if (bootSource == null)
            {
                throw new ApiRequestException("Cannot start the microVM without a kernel. PUT /boot-source with kernel_image_path first.");
            }

            // Firecracker puts the root drive first, so it is /dev/vda, and names it on the kernel command line.
            var ordered = drives.Where(d => d.IsRootDevice == true).Concat(drives.Where(d => d.IsRootDevice != true)).ToList();
            string commandLine = bootSource.BootArgs ?? DefaultBootArgs;
            var root = ordered.FirstOrDefault(d => d.IsRootDevice == true);
            if (root != null)
            {
                string device = root.Partuuid != null ? $"PARTUUID={root.Partuuid}" : "/dev/vda";
                commandLine = $"{commandLine} root={device} {(root.IsReadOnly == true ? "ro" : "rw")}";
            }

            return new MachineConfig
            {
                KernelPath = bootSource.KernelImagePath,
                InitrdPath = bootSource.InitrdPath,
                CommandLine = commandLine,
                VcpuCount = machineConfiguration.VcpuCount ?? 1,
                MemoryBytes = (ulong)(machineConfiguration.MemSizeMib ?? 128) << 20,
                TrackDirtyPages = machineConfiguration.TrackDirtyPages ?? false,
                Disks = [.. ordered.Select(d => new DiskConfig { Id = d.DriveId, Path = d.PathOnHost!, ReadOnly = d.IsReadOnly ?? false })],
                NetworkInterfaces = [.. networkInterfaces.Select(n => new NetworkInterfaceConfig
                {
                    Id = n.IfaceId,
                    HostDeviceName = n.HostDevName,
                    GuestMac = n.GuestMac,
                    ReceiveRateLimiter = ToConfig(n.RxRateLimiter),
                    TransmitRateLimiter = ToConfig(n.TxRateLimiter),
                })],
                Vsock = vsock is null ? null : new VsockConfig { GuestCid = (uint)vsock.GuestCid, UdsPath = vsock.UdsPath },
                Entropy = entropy is null ? null : new EntropyConfig { RateLimiter = ToConfig(entropy.RateLimiter) },
            };
        }
    }

    public void Dispose()
    {
        lock (sync)
        {
            metricsTimer?.Dispose();
            if (built != null && built.Machine.State != MachineState.Stopped)
            {
                built.Machine.RequestStop(MachineStop.HostRequest());
            }
        }

        Log.Dispose();
        MetricsSink.Dispose();
        serialFile?.Dispose();
        consoleOutput?.Dispose();
    }

    private void Start()
    {
        lock (sync)
        {
            RequireNotStarted();
            var config = ToMachineConfig();
            var output = OpenSerialOutput();
            try
            {
                built = factory(config, output, Log);
            }
            catch (ConfigurationException exception)
            {
                throw new ApiRequestException($"Cannot start the microVM: {exception.Render(FirecrackerFields.For)}");
            }
            catch (BootImageException exception)
            {
                throw new ApiRequestException($"Cannot start the microVM: kernel_image_path: {exception.Message}");
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                throw new ApiRequestException($"Cannot start the microVM: {exception.Message}");
            }

            Watch(built.Machine, start: true);
        }
    }

    /// <summary>
    /// <c>PUT /snapshot/create</c>: writes the paused microVM's state to <c>snapshot_path</c> and its memory to
    /// <c>mem_file_path</c> (all of it, or with <c>snapshot_type</c> Diff the pages written since the last snapshot).
    /// </summary>
    public void CreateSnapshot(SnapshotCreateParams request)
    {
        lock (sync)
        {
            var type = request.SnapshotType switch
            {
                null or SnapshotCreateParams.Full => SnapshotType.Full,
                SnapshotCreateParams.Diff => SnapshotType.Diff,
                _ => throw new ApiRequestException($"snapshot_type: '{request.SnapshotType}' is not a snapshot type. Give Full or Diff."),
            };
            RequirePath(request.SnapshotPath, "snapshot_path");
            RequirePath(request.MemFilePath, "mem_file_path");
            var machine = RequireRunningMachine();
            if (machine.Machine.State != MachineState.Paused)
            {
                throw new ApiRequestException($"Cannot create a snapshot: the microVM is {StateName()}, and a snapshot is taken only while it is Paused (PATCH /vm {{\"state\": \"Paused\"}} first).");
            }

            try
            {
                var result = MachineSnapshot.Create(machine, type, request.SnapshotPath, request.MemFilePath);
                string summary = $"created a {type} snapshot in {result.Elapsed.TotalMilliseconds:0} ms: {result.StateBytes} bytes of state in {request.SnapshotPath}, {result.MemoryBytesWritten} bytes of memory written to {request.MemFilePath}";
                Log.Write(LogLevel.Info, "vmm", summary);
                hostLog.Info(summary);
            }
            catch (Exception exception) when (exception is SnapshotException or MachineStateException)
            {
                throw new ApiRequestException($"Cannot create a snapshot: {exception.Message}");
            }
        }
    }

    /// <summary>
    /// <c>PUT /snapshot/load</c>: rebuilds the snapshot's microVM in this VMM, which must not have been configured or
    /// started; it is Paused afterwards, or Running with <c>resume_vm</c>.
    /// </summary>
    public void LoadSnapshot(SnapshotLoadParams request)
    {
        lock (sync)
        {
            RequireNotStarted();
            if (machineConfigured || bootSource != null || drives.Count > 0 || networkInterfaces.Count > 0 || vsock != null || entropy != null)
            {
                throw new ApiRequestException("Cannot load a snapshot: this microVM was already configured (boot source, machine config or devices); a snapshot loads only into a fresh VMM, whose configuration it brings.");
            }

            RequirePath(request.SnapshotPath, "snapshot_path");
            string memoryPath = request switch
            {
                { MemBackend: not null, MemFilePath: not null } => throw new ApiRequestException("mem_backend and mem_file_path: give one, not both (mem_file_path is the older name)."),
                { MemBackend: { BackendType: MemoryBackend.File } backend } => backend.BackendPath,
                { MemBackend: { } backend } => throw new ApiRequestException($"mem_backend.backend_type: '{backend.BackendType}' is not supported. Give File."),
                { MemFilePath: { } path } => path,
                _ => throw new ApiRequestException("mem_backend: missing. Give {\"backend_type\": \"File\", \"backend_path\": ...} with the memory file the snapshot was written with."),
            };
            RequirePath(memoryPath, "mem_backend.backend_path");
            if (restorer == null)
            {
                throw new ApiRequestException("Cannot load a snapshot: this VMM was started without a way to restore machines.");
            }

            var output = OpenSerialOutput();
            RestoredMachine restored;
            try
            {
                restored = restorer(request.SnapshotPath, memoryPath, request.ResumeVm ?? false, request.TrackDirtyPages ?? request.EnableDiffSnapshots ?? false, output, Log);
            }
            catch (Exception exception) when (exception is SnapshotException or SnapshotFormatException or MachineStateException or InvalidOperationException
                or IOException or Devices.Storage.DiskImageException or Core.Memory.GuestMemoryException or ArgumentOutOfRangeException)
            {
                throw new ApiRequestException($"Cannot load the snapshot: {exception.Message}");
            }
            catch (ConfigurationException exception)
            {
                throw new ApiRequestException($"Cannot load the snapshot: {exception.Render(FirecrackerFields.For)}");
            }

            built = restored.Built;
            var config = restored.Config;
            bootSource = new BootSource { KernelImagePath = config.KernelPath, InitrdPath = config.InitrdPath, BootArgs = config.CommandLine };
            machineConfiguration = machineConfiguration with
            {
                VcpuCount = config.VcpuCount,
                MemSizeMib = (int)(config.MemoryBytes >> 20),
                TrackDirtyPages = config.TrackDirtyPages,
            };
            drives.AddRange(config.Disks.Select(disk => new Drive { DriveId = disk.Id, PathOnHost = disk.Path, IsReadOnly = disk.ReadOnly, IsRootDevice = false }));
            networkInterfaces.AddRange(config.NetworkInterfaces.Select(network => new NetworkInterface { IfaceId = network.Id, HostDevName = network.HostDeviceName ?? string.Empty, GuestMac = network.GuestMac }));
            string loaded = $"loaded the snapshot {request.SnapshotPath} in {restored.Elapsed.TotalMilliseconds:0.0} ms ({(request.ResumeVm == true ? "resumed" : "paused")})";
            Log.Write(LogLevel.Info, "vmm", loaded);
            hostLog.Info(loaded);
            Watch(built.Machine, start: false);
        }
    }

    private static void RequirePath(string? path, string field)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new ApiRequestException($"{field}: missing. Give the path of a file on the host.");
        }
    }

    private ISerialOutput OpenSerialOutput()
    {
        if (serial?.SerialOutPath is { } serialPath)
        {
            try
            {
                return serialFile = new FileSerialOutput(serialPath);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                throw new ApiRequestException($"serial_out_path: '{serialPath}' cannot be opened for writing ({exception.Message}).");
            }
        }

        return consoleOutput ??= new ConsoleSerialOutput();
    }

    /// <summary>Starts the machine (a boot) or leaves it as restored, and watches for its stop and flushes metrics.</summary>
    private void Watch(Machine machine, bool start)
    {
        if (consoleOutput != null)
        {
            // A stdout nobody reads must not keep a stopping machine's vCPU waiting for room (ConsoleSession does the same).
            machine.Stopping.Register(consoleOutput.Abandon);
        }

        if (start)
        {
            machine.Start();
            Log.Write(LogLevel.Info, "vmm", $"started the microVM on the {machine.AcceleratorName} accelerator");
        }

        var waiter = new Thread(() =>
        {
            var stop = machine.WaitForStop();
            lock (sync)
            {
                metricsTimer?.Dispose();
                MetricsSink.Flush(machine.Metrics, "Stopped");
            }

            Log.Write(LogLevel.Info, "vmm", $"the microVM stopped: {stop.Detail ?? stop.Reason.ToString()}");
            consoleOutput?.WaitUntilDrained(OutputDrainBound);
            stopped.TrySetResult(stop);
        })
        { IsBackground = true, Name = "vessel machine waiter" };
        waiter.Start();
        if (MetricsSink.IsConfigured)
        {
            metricsTimer = new Timer(
                _ =>
                {
                    try
                    {
                        MetricsSink.Flush(machine.Metrics, machine.State.ToString());
                    }
                    catch (ApiRequestException exception)
                    {
                        hostLog.Warn(exception.Message);
                    }
                },
                null,
                MetricsSink.PeriodicFlushInterval,
                MetricsSink.PeriodicFlushInterval);
        }
    }

    private string StateName() => built?.Machine.State switch
    {
        null or MachineState.Created => InstanceInfo.NotStarted,
        MachineState.Running => InstanceInfo.Running,
        MachineState.Paused => InstanceInfo.Paused,
        _ => "Stopped",
    };

    private BuiltMachine RequireRunningMachine()
    {
        if (built == null)
        {
            throw new ApiRequestException(BeforeStartRefusal);
        }

        if (built.Machine.State == MachineState.Stopped)
        {
            throw new ApiRequestException("The microVM has stopped.");
        }

        return built;
    }

    private void RequireNotStarted()
    {
        if (Started)
        {
            throw new ApiRequestException(AfterStartRefusal);
        }
    }

    private void ApplyMachineConfig(MachineConfiguration update, MachineConfiguration basis)
    {
        lock (sync)
        {
            RequireNotStarted();
            var merged = new MachineConfiguration
            {
                VcpuCount = update.VcpuCount ?? basis.VcpuCount ?? machineConfiguration.VcpuCount,
                MemSizeMib = update.MemSizeMib ?? basis.MemSizeMib ?? machineConfiguration.MemSizeMib,
                Smt = update.Smt ?? basis.Smt,
                CpuTemplate = update.CpuTemplate ?? basis.CpuTemplate,
                TrackDirtyPages = update.TrackDirtyPages ?? basis.TrackDirtyPages,
                HugePages = update.HugePages ?? basis.HugePages,
            };
            if (merged.VcpuCount is < 1 or > MaxVcpuCount)
            {
                throw new ApiRequestException($"vcpu_count: {merged.VcpuCount} is out of range. Give 1 to {MaxVcpuCount}.");
            }

            ulong minMib = MachineConfig.MinMemoryBytes >> 20;
            if (merged.MemSizeMib < (long)minMib || (ulong)merged.MemSizeMib! > MachineConfig.MaxMemoryBytes >> 20)
            {
                throw new ApiRequestException($"mem_size_mib: {merged.MemSizeMib} is out of range. Give {minMib} to {MachineConfig.MaxMemoryBytes >> 20}.");
            }

            if (merged.Smt == true)
            {
                throw new ApiRequestException("smt: simultaneous multithreading is not supported; leave it false.");
            }

            if (merged.CpuTemplate is not (null or "None"))
            {
                throw new ApiRequestException($"cpu_template: '{merged.CpuTemplate}' is not supported. Only None is (Vessel's --cpu option chooses the CPU model).");
            }

            if (merged.HugePages is not (null or "None"))
            {
                throw new ApiRequestException($"huge_pages: '{merged.HugePages}' is not supported. Only None is.");
            }

            machineConfiguration = merged;
            machineConfigured = true;
        }
    }

    private static void RequireFile(string path, ConfigField field, string what)
    {
        try
        {
            MachineConfig.RequireReadableFile(path, field, what);
        }
        catch (ConfigurationException exception)
        {
            throw new ApiRequestException(exception.Render(FirecrackerFields.For));
        }
    }

    private static void RequireMatchingId(string pathId, string bodyId)
    {
        if (!string.Equals(pathId, bodyId, StringComparison.Ordinal))
        {
            throw new ApiRequestException($"The id from the path ('{pathId}') does not match the id from the body ('{bodyId}').");
        }
    }

    private static void RequireId(string id, string field)
    {
        if (!IdPattern().IsMatch(id))
        {
            throw new ApiRequestException($"{field}: '{id}' is not a valid id. Use 1 to 64 letters, digits, '-' or '_'.");
        }
    }

    private static void RequireOneOf(string field, string? value, params string[] allowed)
    {
        if (value != null && !allowed.Contains(value, StringComparer.Ordinal))
        {
            throw new ApiRequestException($"{field}: '{value}' is not accepted. Give {string.Join(" or ", allowed)}.");
        }
    }

    private static void ValidateRateLimiter(string field, RateLimiter? limiter)
    {
        foreach (var (name, bucket) in new[] { ("bandwidth", limiter?.Bandwidth), ("ops", limiter?.Ops) })
        {
            if (bucket is null)
            {
                continue;
            }

            if (bucket.Size < 0 || bucket.RefillTime < 0 || bucket.OneTimeBurst < 0)
            {
                throw new ApiRequestException($"{field}.{name}: size, one_time_burst and refill_time must not be negative.");
            }
        }
    }

    private static RateLimiterConfig? ToConfig(RateLimiter? limiter)
    {
        if (limiter is null)
        {
            return null;
        }

        static TokenBucketConfig? Bucket(TokenBucket? bucket) =>
            bucket is null ? null : new TokenBucketConfig((ulong)bucket.Size, (ulong)(bucket.OneTimeBurst ?? 0), (ulong)bucket.RefillTime);

        return new RateLimiterConfig(Bucket(limiter.Bandwidth), Bucket(limiter.Ops));
    }

    private static void RefuseUnsupportedSection(string name, System.Text.Json.JsonElement? section)
    {
        if (section is { ValueKind: not System.Text.Json.JsonValueKind.Null })
        {
            throw new ApiRequestException($"{name}: not supported by Vessel yet. Remove it from the configuration.");
        }
    }

    [GeneratedRegex("^[a-zA-Z0-9_-]{1,64}$")]
    private static partial Regex IdPattern();

    [GeneratedRegex("^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")]
    private static partial Regex MacAddressPattern();
}

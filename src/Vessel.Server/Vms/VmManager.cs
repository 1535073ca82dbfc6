using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Vessel.Client.Models;
using Vessel.Server.Limits;
using Vessel.Server.Models;

namespace Vessel.Server.Vms;

/// <summary>
/// The daemon's VMs by name: defines them from a name and Firecracker's VM configuration, finds the ones an earlier
/// daemon left in the state folder, and hands out each VM's <see cref="VmSupervisor"/>.
/// </summary>
public sealed partial class VmManager : IDisposable
{
    public const int MaxConfigBytes = 64 * 1024;

    private readonly ManagerOptions options;
    private readonly Lock sync = new();
    private readonly Dictionary<string, VmSupervisor> vms = new(StringComparer.Ordinal);

    public VmManager(ManagerOptions options, Action<string> notice)
    {
        this.options = options;
        Directory.CreateDirectory(options.StateDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string instance = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFullPath(options.StateDirectory))))[..8];
        Cgroups = CgroupLimits.Detect(instance);
        if (Cgroups.Unavailable != null)
        {
            notice($"VMs run without cgroup limits: {Cgroups.Unavailable}.");
        }

        foreach (string directory in Directory.EnumerateDirectories(options.StateDirectory).Order(StringComparer.Ordinal))
        {
            if (!File.Exists(Path.Combine(directory, "vm.json")))
            {
                continue;
            }

            try
            {
                var vm = VmSupervisor.Load(options, Cgroups, directory);
                vms.Add(vm.Name, vm);
                notice(vm.State is VmState.Running or VmState.Paused
                    ? $"re-adopted VM '{vm.Name}' ({vm.State}, pid {vm.Info().Pid})."
                    : vm.Info().Reason is { } reason && reason.StartsWith("lost", StringComparison.Ordinal) ? $"VM '{vm.Name}' is {reason}." : $"found VM '{vm.Name}' ({vm.State}).");
            }
            catch (Exception exception) when (exception is IOException or JsonException or InvalidDataException or UnauthorizedAccessException)
            {
                notice($"skipped '{directory}': its vm.json cannot be read ({exception.Message}).");
            }
        }
    }

    public CgroupLimits Cgroups { get; }

    public IReadOnlyList<VmInfo> List()
    {
        lock (sync)
        {
            return [.. vms.Values.OrderBy(vm => vm.Name, StringComparer.Ordinal).Select(vm => vm.Info())];
        }
    }

    public VmSupervisor Get(string name)
    {
        lock (sync)
        {
            return vms.TryGetValue(name, out var vm)
                ? vm
                : throw new ManagerRequestException(ManagerRequestException.NotFound, $"There is no VM named '{name}' (vessel ps lists them).");
        }
    }

    /// <summary>Checks the request and defines the VM (Stopped); the caller starts it unless asked not to.</summary>
    public VmSupervisor Define(CreateVmRequest request)
    {
        string name = request.Name ?? throw BadRequest("name: required (letters, digits, '.', '_' or '-', up to 64, starting with a letter or digit).");
        if (!NamePattern().IsMatch(name))
        {
            throw BadRequest($"name: '{name}' is not a valid VM name; use letters, digits, '.', '_' or '-', up to 64, starting with a letter or digit.");
        }

        if (request.Restore != null)
        {
            return DefineRestored(name, request);
        }

        if (request.Config is not { ValueKind: JsonValueKind.Object } config)
        {
            throw BadRequest("config: required, a JSON object (Firecracker's VM configuration: boot-source, machine-config, drives, ...), or restore: the snapshot to restore the VM from.");
        }

        string configJson = config.GetRawText();
        var parsed = ParseConfig(configJson);
        string kernel = parsed.BootSource!.KernelImagePath;
        if (!File.Exists(kernel))
        {
            throw BadRequest($"config: boot-source.kernel_image_path: '{kernel}' does not exist. Give the path of a vmlinux, bzImage or multiboot image on the daemon's host.");
        }

        int vcpus = parsed.MachineConfig?.VcpuCount ?? 1;
        int memory = parsed.MachineConfig?.MemSizeMib ?? 128;
        if (vcpus is < 1 or > 32)
        {
            throw BadRequest($"config: machine-config.vcpu_count: {vcpus} is out of range; give 1 to 32.");
        }

        if (memory is < 2 or > 1024 * 1024)
        {
            throw BadRequest($"config: machine-config.mem_size_mib: {memory} is out of range; give 2 to 1048576.");
        }

        return Add(name, () => VmSupervisor.Define(options, Cgroups, name, configJson, vcpus, memory));
    }

    public void Remove(string name)
    {
        var vm = Get(name);
        vm.Remove();
        lock (sync)
        {
            vms.Remove(name);
        }
    }

    /// <summary>Lets go of every VM without stopping them; a later daemon re-adopts the running ones.</summary>
    public void Dispose()
    {
        lock (sync)
        {
            foreach (var vm in vms.Values)
            {
                vm.Dispose();
            }

            vms.Clear();
        }
    }

    internal static FullVmConfiguration ParseConfig(string json)
    {
        FullVmConfiguration? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize(json, ManagerJsonContext.Default.FullVmConfiguration);
        }
        catch (JsonException exception)
        {
            string where = exception.Path is { Length: > 1 } path ? path[2..] : "config";
            throw BadRequest($"config: {where}: {FirstSentence(exception.Message)}");
        }

        if (parsed?.BootSource == null)
        {
            throw BadRequest("config: boot-source: required, with kernel_image_path.");
        }

        foreach (var (section, value) in (ReadOnlySpan<(string, JsonElement?)>)[("balloon", parsed.Balloon), ("mmds-config", parsed.MmdsConfig), ("cpu-config", parsed.CpuConfig), ("memory-hotplug", parsed.MemoryHotplug), ("pmem", parsed.Pmem)])
        {
            if (value != null)
            {
                throw BadRequest($"config: {section}: not supported by Vessel yet; remove the section.");
            }
        }

        return parsed;
    }

    /// <summary>
    /// Checks that the snapshot's files exist and are absolute paths and defines a VM restored from them (Stopped): its
    /// VMM starts without a configuration and the supervisor loads the snapshot through the VMM's API.
    /// </summary>
    private VmSupervisor DefineRestored(string name, CreateVmRequest request)
    {
        if (request.Config != null)
        {
            throw BadRequest("config and restore: give one of them (a restored VM's configuration is the snapshot's).");
        }

        string snapshot = RequireFile("restore.snapshot_path", request.Restore!.SnapshotPath, "the snapshot's state file");
        string memory = RequireFile("restore.mem_file_path", request.Restore.MemFilePath, "the snapshot's memory file");
        return Add(name, () => VmSupervisor.DefineRestored(options, Cgroups, name, snapshot, memory));
    }

    private static string RequireFile(string field, string? path, string what)
    {
        if (string.IsNullOrEmpty(path) || !Path.IsPathFullyQualified(path))
        {
            throw BadRequest($"{field}: {(string.IsNullOrEmpty(path) ? "required" : $"'{path}' is not an absolute path")}; give the absolute path of {what} on the daemon's host.");
        }

        return File.Exists(path) ? path : throw BadRequest($"{field}: '{path}' does not exist; give {what} that vessel snapshot wrote.");
    }

    private VmSupervisor Add(string name, Func<VmSupervisor> define)
    {
        lock (sync)
        {
            if (vms.ContainsKey(name))
            {
                throw new ManagerRequestException(ManagerRequestException.Conflict, $"A VM named '{name}' already exists; choose another name or remove it first (vessel rm {name}).");
            }

            var vm = define();
            vms.Add(name, vm);
            return vm;
        }
    }

    private static string FirstSentence(string message)
    {
        int end = message.IndexOf(". ", StringComparison.Ordinal);
        return end > 0 ? message[..(end + 1)] : message;
    }

    private static ManagerRequestException BadRequest(string message) => new(ManagerRequestException.BadRequest, message);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    private static partial Regex NamePattern();
}

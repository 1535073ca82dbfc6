using System.Diagnostics;
using System.Reflection;

namespace Vessel.Server.Vms;

/// <summary>
/// The command line that starts one VM's VMM: <c>vessel run --api-sock STATE/NAME/api.sock --config-file
/// STATE/NAME/config.json --id NAME</c> (without <c>--config-file</c> for a VM restored from a snapshot, which the
/// daemon loads through the API), run as the daemon itself runs (the same dotnet and vessel.dll, or the same
/// apphost), in a session of its own so it outlives the daemon, its console on the VM's FIFOs and its stderr appended
/// to vmm.log, joining its cgroup before the runtime starts.
/// </summary>
public sealed record VmmCommand(string Executable, IReadOnlyList<string> LeadingArguments, IReadOnlyList<string> RunArguments)
{
    /// <summary>Variables added to each VMM's environment (the runtime settings its accelerator wants).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    // sh(1) does the file work a fork would: join the cgroup, then exec the VMM with its descriptors in place. "0<>"
    // and "1<>" open the FIFOs read-write, so the VMM never blocks opening them nor meets a broken pipe.
    private const string Wrapper =
        "if [ -n \"$VESSEL_CGROUP\" ]; then echo $$ > \"$VESSEL_CGROUP/cgroup.procs\" || exit 125; fi; "
        + "exec \"$@\" 0<>\"$VESSEL_CONSOLE_IN\" 1<>\"$VESSEL_CONSOLE_OUT\" 2>>\"$VESSEL_VMM_LOG\"";

    /// <summary>The running process's own way of starting vessel: <c>dotnet vessel.dll</c> under the dotnet host, else the apphost.</summary>
    public static VmmCommand FromCurrentProcess(IReadOnlyList<string> runArguments)
    {
        string executable = System.Environment.ProcessPath ?? throw new InvalidOperationException("The path of the running executable is unknown.");
        bool underDotnet = Path.GetFileNameWithoutExtension(executable) == "dotnet";
        string? assembly = Assembly.GetEntryAssembly()?.Location;
        return new VmmCommand(executable, underDotnet && !string.IsNullOrEmpty(assembly) ? [assembly] : [], runArguments);
    }

    public ProcessStartInfo StartInfo(VmPaths paths, string name, string? cgroup, bool withConfig = true)
    {
        var start = new ProcessStartInfo(File.Exists("/usr/bin/setsid") ? "/usr/bin/setsid" : "setsid")
        {
            UseShellExecute = false,
            WorkingDirectory = paths.Directory,
        };
        foreach (string argument in (string[])["/bin/sh", "-c", Wrapper, "vessel-vmm", Executable, .. LeadingArguments, "run",
            "--api-sock", paths.ApiSocket, .. (withConfig ? (string[])["--config-file", paths.Config] : []), "--id", name, .. RunArguments])
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (variable, value) in Environment)
        {
            start.Environment[variable] = value;
        }

        start.Environment["VESSEL_CGROUP"] = cgroup ?? string.Empty;
        start.Environment["VESSEL_CONSOLE_IN"] = paths.ConsoleIn;
        start.Environment["VESSEL_CONSOLE_OUT"] = paths.ConsoleOut;
        start.Environment["VESSEL_VMM_LOG"] = paths.VmmLog;
        return start;
    }
}

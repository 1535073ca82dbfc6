using System.CommandLine;
using Vessel.Client.Models;
using Vessel.Core.Logging;
using Vessel.Vmm.Configuration;

namespace Vessel.Cli.Commands;

/// <summary>
/// <c>vessel restore NAME</c>: the vessel serve daemon defines VM NAME restored from the snapshot, and starts it (a VMM
/// process of its own that loads the snapshot). <c>vessel restore</c> without NAME: a new VMM process whose microVM is a snapshot's, restored (Firecracker's PUT /snapshot/load on
/// a fresh process). The console is this terminal, as with <c>vessel run --api-sock</c>; with <c>--api-sock</c> the API
/// serves the restored microVM (resume it, snapshot it again).
/// </summary>
public static class RestoreCommand
{
    public static Command Create()
    {
        var snapshotPath = new Option<string>("--snapshot-path") { Description = "The snapshot's state file.", Required = true };
        var memoryPath = new Option<string>("--mem-file-path") { Description = "The snapshot's memory file (mapped copy-on-write; it is never written).", Required = true };
        var apiSocket = new Option<string?>("--api-sock") { Description = "Serve Firecracker's REST API for the restored microVM on this Unix socket." };
        var resume = new Option<bool>("--resume") { Description = "Run the guest at once (otherwise it stays paused until PATCH /vm resumes it)." };
        var trackDirtyPages = new Option<bool>("--track-dirty-pages") { Description = "Record changed pages from the start, for diff snapshots of the restored microVM." };
        var id = new Option<string>("--id") { Description = "The microVM's id, reported by GET / and in log lines.", DefaultValueFactory = _ => "anonymous-instance" };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Print what the VMM is doing to stderr." };
        var name = new Argument<string?>("NAME") { Description = "Restore into a new VM of the vessel serve daemon with this name (without it: a VMM process on this terminal).", Arity = ArgumentArity.ZeroOrOne };
        var noStart = new Option<bool>("--no-start") { Description = "With NAME: only define the VM; vessel start NAME restores it later." };
        var socket = ManagerVerb.SocketOption();
        var command = new Command("restore", "Restore a snapshot: into a new VM of the vessel serve daemon (restore NAME), or a VMM process on this terminal.")
        {
            name, snapshotPath, memoryPath, noStart, socket, apiSocket, resume, trackDirtyPages, id, verbose,
        };
        command.SetAction(parse =>
        {
            if (parse.GetValue(name) is { } vmName)
            {
                if (parse.GetValue(apiSocket) != null || parse.GetValue(resume) || parse.GetValue(trackDirtyPages))
                {
                    Console.Error.WriteLine("vessel restore NAME: --api-sock, --resume and --track-dirty-pages are for a VMM on this terminal (restore without NAME); the daemon's VM always runs.");
                    return Program.UsageErrorStatus;
                }

                return ManagerVerb.Run(parse.GetValue(socket), async client =>
                {
                    var vm = await client.RestoreAsync(
                        vmName,
                        Path.GetFullPath(parse.GetValue(snapshotPath)!),
                        Path.GetFullPath(parse.GetValue(memoryPath)!),
                        !parse.GetValue(noStart)).ConfigureAwait(false);
                    Console.WriteLine(vm.Pid is { } pid ? $"{vm.Name}: {vm.State} (pid {pid}), restored from {vm.RestoredFrom}" : $"{vm.Name}: {vm.State}, restores from {vm.RestoredFrom}");
                    return 0;
                });
            }

            if (parse.GetValue(noStart))
            {
                Console.Error.WriteLine("vessel restore: --no-start: only with NAME (a VM of the vessel serve daemon).");
                return Program.UsageErrorStatus;
            }

            bool resumeVm = parse.GetValue(resume);
            if (!resumeVm && parse.GetValue(apiSocket) == null)
            {
                Console.Error.WriteLine("vessel: --resume: required without --api-sock (nothing else could resume the restored microVM).");
                return Program.UsageErrorStatus;
            }

            return ApiSession.Run(
                parse.GetValue(apiSocket),
                configFile: null,
                parse.GetValue(id) ?? "anonymous-instance",
                AcceleratorKind.Auto,
                cpu: null,
                new StandardErrorLog(parse.GetValue(verbose)),
                new SnapshotLoadParams
                {
                    SnapshotPath = Path.GetFullPath(parse.GetValue(snapshotPath)!),
                    MemBackend = new MemoryBackend { BackendType = MemoryBackend.File, BackendPath = Path.GetFullPath(parse.GetValue(memoryPath)!) },
                    ResumeVm = resumeVm,
                    TrackDirtyPages = parse.GetValue(trackDirtyPages),
                });
        });
        return command;
    }
}

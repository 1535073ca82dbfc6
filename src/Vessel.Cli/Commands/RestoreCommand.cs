using System.CommandLine;
using Vessel.Client.Models;
using Vessel.Core.Logging;
using Vessel.Vmm.Configuration;

namespace Vessel.Cli.Commands;

/// <summary>
/// <c>vessel restore</c>: a new VMM process whose microVM is a snapshot's, restored (Firecracker's PUT /snapshot/load on
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
        var command = new Command("restore", "Start a VMM process with a snapshot's microVM restored in it.")
        {
            snapshotPath, memoryPath, apiSocket, resume, trackDirtyPages, id, verbose,
        };
        command.SetAction(parse =>
        {
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

using System.CommandLine;
using System.Net.Http;
using Vessel.Client;
using Vessel.Client.Models;

namespace Vessel.Cli.Commands;

/// <summary>
/// <c>vessel snapshot create</c>: asks a running VMM (through its API socket) for a snapshot, as a manager does; the
/// microVM must be paused (<c>PATCH /vm</c>), or pass <c>--pause</c> to pause it first and leave it paused.
/// </summary>
public static class SnapshotCommand
{
    public static Command Create()
    {
        var apiSocket = new Option<string>("--api-sock") { Description = "The VMM's API socket (vessel run --api-sock).", Required = true };
        var snapshotPath = new Option<string>("--snapshot-path") { Description = "Where to write the machine's state.", Required = true };
        var memoryPath = new Option<string>("--mem-file-path") { Description = "Where to write guest memory.", Required = true };
        var diff = new Option<bool>("--diff")
        {
            Description = "Write only the pages changed since the last snapshot, over the memory file (needs track_dirty_pages).",
        };
        var pause = new Option<bool>("--pause") { Description = "Pause the microVM first (it stays paused: resume it with PATCH /vm)." };
        var create = new Command("create", "Snapshot a paused microVM through its API socket (Firecracker's PUT /snapshot/create).")
        {
            apiSocket, snapshotPath, memoryPath, diff, pause,
        };
        create.SetAction(parse => Execute(
            parse.GetValue(apiSocket)!,
            parse.GetValue(snapshotPath)!,
            parse.GetValue(memoryPath)!,
            parse.GetValue(diff),
            parse.GetValue(pause)));
        return new Command("snapshot", "Snapshot a running VMM's microVM.") { create };
    }

    private static int Execute(string apiSocket, string snapshotPath, string memoryPath, bool diff, bool pause)
    {
        using var client = new FirecrackerClient(apiSocket);
        try
        {
            if (pause)
            {
                client.PauseAsync().GetAwaiter().GetResult();
            }

            client.CreateSnapshotAsync(new SnapshotCreateParams
            {
                SnapshotType = diff ? SnapshotCreateParams.Diff : SnapshotCreateParams.Full,
                SnapshotPath = Path.GetFullPath(snapshotPath),
                MemFilePath = Path.GetFullPath(memoryPath),
            }).GetAwaiter().GetResult();
            Console.WriteLine($"Snapshot written: state {snapshotPath}, memory {memoryPath}.");
            return 0;
        }
        catch (FirecrackerApiException exception)
        {
            Console.Error.WriteLine($"vessel: {exception.Message}");
            return 1;
        }
        catch (HttpRequestException exception)
        {
            Console.Error.WriteLine($"vessel: --api-sock {apiSocket}: no VMM answers there ({exception.Message}).");
            return 1;
        }
    }
}

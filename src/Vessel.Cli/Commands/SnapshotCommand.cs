using System.CommandLine;
using System.Net.Http;
using Vessel.Client;
using Vessel.Client.Models;

namespace Vessel.Cli.Commands;

/// <summary>
/// <c>vessel snapshot NAME</c>: asks the vessel serve daemon to snapshot its VM NAME (paused for it, then left as it
/// was). <c>vessel snapshot create --api-sock S</c>: asks one VMM directly, as a manager does; the microVM must be
/// paused (<c>PATCH /vm</c>), or pass <c>--pause</c> to pause it first and leave it paused. The word <c>create</c>
/// after <c>snapshot</c> is always the second form.
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
        var name = new Argument<string?>("NAME") { Description = "The vessel serve daemon's VM to snapshot.", Arity = ArgumentArity.ZeroOrOne };
        var socket = ManagerVerb.SocketOption();
        var vmSnapshotPath = new Option<string?>("--snapshot-path") { Description = "Where to write the machine's state." };
        var vmMemoryPath = new Option<string?>("--mem-file-path") { Description = "Where to write guest memory." };
        var vmDiff = new Option<bool>("--diff") { Description = "Write only the pages changed since the last snapshot (the VM needs track_dirty_pages)." };
        var snapshot = new Command("snapshot", "Snapshot a VM of the vessel serve daemon by name (snapshot NAME), or a VMM through its API socket (snapshot create).")
        {
            name, vmSnapshotPath, vmMemoryPath, vmDiff, socket, create,
        };
        snapshot.SetAction(parse => ExecuteByName(parse.GetValue(socket), parse.GetValue(name), parse.GetValue(vmSnapshotPath), parse.GetValue(vmMemoryPath), parse.GetValue(vmDiff)));
        return snapshot;
    }

    private static int ExecuteByName(string? socket, string? name, string? snapshotPath, string? memoryPath, bool diff)
    {
        if (name == null)
        {
            Console.Error.WriteLine("vessel snapshot: give a VM name (vessel snapshot NAME --snapshot-path P --mem-file-path M), or use vessel snapshot create --api-sock S for a VMM of your own.");
            return Program.UsageErrorStatus;
        }

        if (snapshotPath == null || memoryPath == null)
        {
            Console.Error.WriteLine($"vessel snapshot: {(snapshotPath == null ? "--snapshot-path" : "--mem-file-path")}: required (where to write the machine's state and its memory).");
            return Program.UsageErrorStatus;
        }

        return ManagerVerb.Run(socket, async client =>
        {
            var vm = await client.SnapshotAsync(name, Path.GetFullPath(snapshotPath), Path.GetFullPath(memoryPath), diff).ConfigureAwait(false);
            Console.WriteLine($"{vm.Name}: snapshot written (state {snapshotPath}, memory {memoryPath}); it is {vm.State.ToLowerInvariant()}.");
            return 0;
        });
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

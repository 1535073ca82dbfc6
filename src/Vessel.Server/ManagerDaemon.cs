using System.Runtime.InteropServices;
using Vessel.Server.Http;
using Vessel.Server.Vms;

namespace Vessel.Server;

/// <summary>
/// <c>vessel serve</c>: takes the state folder (one daemon per folder, held by a lock), finds the VMs an earlier
/// daemon left, serves the API until SIGINT or SIGTERM, then lets go of the VMs without stopping them: they run on
/// in their own sessions, and the next daemon re-adopts them.
/// </summary>
public static class ManagerDaemon
{
    public static async Task<int> RunAsync(ManagerOptions options, TextWriter log)
    {
        Directory.CreateDirectory(options.StateDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        if (options.HttpEndPoint != null && options.HttpToken == null)
        {
            options = options with { HttpToken = HttpToken.CreateAndStore(options.StateDirectory) };
        }
        FileStream stateLock;
        try
        {
            // FileShare.None takes an exclusive flock(2) on Unix: a second daemon on the same folder is refused.
            stateLock = new FileStream(Path.Combine(options.StateDirectory, "daemon.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            throw new ManagerStartException($"--state-dir: another vessel serve already manages '{options.StateDirectory}'. Stop it, or give this one another --state-dir.");
        }

        using (stateLock)
        {
            using var manager = new VmManager(options, notice => log.WriteLine($"vessel serve: {notice}"));
            var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            var server = await ManagerServer.StartAsync(options, manager).ConfigureAwait(false);
            await using (server.ConfigureAwait(false))
            {
                log.WriteLine($"vessel serve: listening on {options.SocketPath}; state in {options.StateDirectory}.");
                if (options.HttpEndPoint is { } http)
                {
                    log.WriteLine($"vessel serve: dashboard at http://{http}/#token={options.HttpToken}");
                }

                log.Flush();
                await stop.Task.ConfigureAwait(false);
                log.WriteLine("vessel serve: stopping; running VMs keep running and are re-adopted by the next vessel serve.");
            }

            void Stop(PosixSignalContext context)
            {
                context.Cancel = true;
                stop.TrySetResult();
            }
        }

        return 0;
    }
}

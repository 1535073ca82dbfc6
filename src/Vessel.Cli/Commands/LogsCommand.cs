using System.CommandLine;

namespace Vessel.Cli.Commands;

/// <summary><c>vessel logs NAME [-f]</c>: the VM's serial console so far (its bounded ring), and with -f as it comes.</summary>
public static class LogsCommand
{
    public static Command Create()
    {
        var socket = ManagerVerb.SocketOption();
        var name = ManagerVerb.NameArgument();
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing the console as the guest writes it, until the VM stops (or Ctrl-C)." };
        var command = new Command("logs", "Print a VM's serial console output kept by the daemon.") { name, follow, socket };
        command.SetAction(parse => ManagerVerb.Run(parse.GetValue(socket), async client =>
        {
            await using var logs = await client.LogsAsync(parse.GetValue(name)!, parse.GetValue(follow)).ConfigureAwait(false);
            await using var stdout = Console.OpenStandardOutput();
            var buffer = new byte[16384];
            int read;
            try
            {
                while ((read = await logs.ReadAsync(buffer).ConfigureAwait(false)) > 0)
                {
                    await stdout.WriteAsync(buffer.AsMemory(0, read)).ConfigureAwait(false);
                    await stdout.FlushAsync().ConfigureAwait(false);
                }
            }
            catch (IOException)
            {
                // The daemon went away mid-stream: what came is printed.
            }

            return 0;
        }));
        return command;
    }
}

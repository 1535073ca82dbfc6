using System.CommandLine;
using Vessel.Server.Client;
using Vessel.Server.Models;

namespace Vessel.Cli.Commands;

/// <summary><c>vessel start|pause|resume|rm NAME</c>: one request each to the vessel serve daemon.</summary>
public static class LifecycleCommands
{
    public static IEnumerable<Command> Create()
    {
        yield return Verb("start", "Start a defined or stopped VM.", (client, name) => client.StartAsync(name));
        yield return Verb("pause", "Pause a running VM (its vCPUs and guest clock stop).", (client, name) => client.PauseAsync(name));
        yield return Verb("resume", "Resume a paused VM.", (client, name) => client.ResumeAsync(name));
        yield return Verb("rm", "Remove a stopped VM's definition, console log and records.", async (client, name) =>
        {
            await client.RemoveAsync(name).ConfigureAwait(false);
            return new VmInfo { Name = name, State = "removed" };
        });
    }

    private static Command Verb(string verb, string description, Func<ManagerClient, string, Task<VmInfo>> request)
    {
        var socket = ManagerVerb.SocketOption();
        var name = ManagerVerb.NameArgument();
        var command = new Command(verb, description) { name, socket };
        command.SetAction(parse => ManagerVerb.Run(parse.GetValue(socket), async client =>
        {
            var vm = await request(client, parse.GetValue(name)!).ConfigureAwait(false);
            Console.WriteLine($"{vm.Name}: {vm.State}");
            return 0;
        }));
        return command;
    }
}

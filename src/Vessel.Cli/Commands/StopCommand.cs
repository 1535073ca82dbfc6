using System.CommandLine;

namespace Vessel.Cli.Commands;

/// <summary><c>vessel stop NAME [--force] [--timeout S]</c>: Ctrl-Alt-Del, a wait, then SIGTERM and SIGKILL.</summary>
public static class StopCommand
{
    public static Command Create()
    {
        var socket = ManagerVerb.SocketOption();
        var name = ManagerVerb.NameArgument();
        var force = new Option<bool>("--force", "-f") { Description = "Skip Ctrl-Alt-Del: end the VMM at once (SIGTERM, then SIGKILL)." };
        var timeout = new Option<double?>("--timeout") { Description = "Seconds to wait for the guest after Ctrl-Alt-Del (default 10)." };
        var command = new Command("stop", "Stop a VM: Ctrl-Alt-Del, up to --timeout seconds for the guest to power off, then end its VMM.") { name, force, timeout, socket };
        command.SetAction(parse => ManagerVerb.Run(parse.GetValue(socket), async client =>
        {
            var vm = await client.StopAsync(parse.GetValue(name)!, parse.GetValue(force), parse.GetValue(timeout)).ConfigureAwait(false);
            Console.WriteLine($"{vm.Name}: {vm.State}{(vm.Reason is { } reason ? $" ({reason})" : string.Empty)}");
            return 0;
        }));
        return command;
    }
}

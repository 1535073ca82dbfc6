using System.CommandLine;

namespace Vessel.Cli.Commands;

/// <summary><c>vessel create NAME --config-file FILE [--no-start]</c>: define a VM from Firecracker's VM configuration, and start it.</summary>
public static class CreateCommand
{
    public static Command Create()
    {
        var socket = ManagerVerb.SocketOption();
        var name = ManagerVerb.NameArgument();
        var configFile = new Option<string>("--config-file") { Description = "Firecracker's VM configuration JSON (boot-source, machine-config, drives, ...).", Required = true };
        var noStart = new Option<bool>("--no-start") { Description = "Only define the VM; start it later with vessel start." };
        var command = new Command("create", "Define a VM in the vessel serve daemon from a Firecracker config file, and start it.") { name, configFile, noStart, socket };
        command.SetAction(parse =>
        {
            string path = parse.GetValue(configFile)!;
            string json;
            try
            {
                json = File.ReadAllText(path);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"vessel: --config-file: cannot read '{path}' ({exception.Message.TrimEnd('.')}).");
                return 1;
            }

            return ManagerVerb.Run(parse.GetValue(socket), async client =>
            {
                var vm = await client.CreateAsync(parse.GetValue(name)!, json, !parse.GetValue(noStart)).ConfigureAwait(false);
                Console.WriteLine(vm.Pid is { } pid ? $"{vm.Name}: {vm.State} (pid {pid})" : $"{vm.Name}: {vm.State}");
                return 0;
            });
        });
        return command;
    }
}

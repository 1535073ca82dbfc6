using System.CommandLine;
using Vessel.Cli.Commands;

namespace Vessel.Cli;

public static class Program
{
    public const int UsageErrorStatus = 2;

    public static int Main(string[] args)
    {
        var root = new RootCommand("Vessel: a hypervisor that runs virtual machines on KVM or on its own x86-64 CPU.");
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(RunCommand.Create());
        root.Subcommands.Add(DiskCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(CreateCommand.Create());
        foreach (var verb in LifecycleCommands.Create())
        {
            root.Subcommands.Add(verb);
        }

        root.Subcommands.Add(StopCommand.Create());
        root.Subcommands.Add(PsCommand.Create());
        root.Subcommands.Add(LogsCommand.Create());
        root.Subcommands.Add(ConsoleCommand.Create());
        root.Subcommands.Add(SnapshotCommand.Create());
        root.Subcommands.Add(RestoreCommand.Create());
        var parse = root.Parse(args);
        int status = parse.Invoke();

        // A command line the parser rejects exits with 2, as usage errors do in most Unix tools, so that scripts can tell
        // it from 1 (a VMM error or triple fault) and from a guest's isa-debug-exit status, which is always odd.
        return parse.Errors.Count > 0 ? UsageErrorStatus : status;
    }
}

using System.CommandLine;
using Vessel.Cli.Commands;

namespace Vessel.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("Vessel: a hypervisor that runs virtual machines on KVM or on its own x86-64 CPU.");
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(RunCommand.Create());
        return root.Parse(args).Invoke();
    }
}

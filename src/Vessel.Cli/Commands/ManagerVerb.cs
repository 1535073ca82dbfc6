using System.CommandLine;
using Vessel.Server;
using Vessel.Server.Client;

namespace Vessel.Cli.Commands;

/// <summary>
/// What the verbs that talk to <c>vessel serve</c> share: the <c>--socket</c> option (default <c>VESSEL_SOCKET</c>,
/// then the daemon's default), and one sentence and exit status 1 for anything the daemon refuses or an absent daemon.
/// </summary>
internal static class ManagerVerb
{
    public static Option<string?> SocketOption() => new("--socket")
    {
        Description = "The vessel serve daemon's Unix socket (default: $VESSEL_SOCKET, else $XDG_RUNTIME_DIR/vessel/vessel.sock or /run/vessel/vessel.sock).",
    };

    public static Argument<string> NameArgument() => new("NAME") { Description = "The VM's name." };

    public static string SocketPath(string? given) =>
        given ?? (Environment.GetEnvironmentVariable("VESSEL_SOCKET") is { Length: > 0 } fromEnvironment ? fromEnvironment : ManagerOptions.DefaultSocketPath());

    /// <summary>Runs <paramref name="action"/> against the daemon; its refusals print as one line and exit 1.</summary>
    public static int Run(string? socket, Func<ManagerClient, Task<int>> action)
    {
        using var client = new ManagerClient(SocketPath(socket));
        try
        {
            return action(client).GetAwaiter().GetResult();
        }
        catch (ManagerClientException exception)
        {
            Console.Error.WriteLine($"vessel: {exception.Message}");
            return 1;
        }
    }
}

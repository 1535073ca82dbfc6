using System.CommandLine;
using System.Net;
using Vessel.Server;
using Vessel.Server.Vms;

namespace Vessel.Cli.Commands;

/// <summary><c>vessel serve</c>: the manager daemon (docs/manager.md).</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var socket = new Option<string?>("--socket") { Description = "The API's Unix socket (default $XDG_RUNTIME_DIR/vessel/vessel.sock, else /run/vessel/vessel.sock); mode 0600." };
        var http = new Option<string?>("--http") { Description = "Serve the dashboard and the API (with a token) on ADDR:PORT, e.g. 127.0.0.1:8080; loopback only unless --http-allow-remote." };
        var allowRemote = new Option<bool>("--http-allow-remote") { Description = "Let --http bind a non-loopback address (needs --token)." };
        var token = new Option<string?>("--token") { Description = "The bearer token the HTTP API and dashboard require (default: a random one, printed with the URL and written to STATE/http-token)." };
        var stateDirectory = new Option<string?>("--state-dir") { Description = "Where VM definitions, consoles and records live (default $XDG_STATE_HOME/vessel, /var/lib/vessel for root, else ~/.local/state/vessel)." };
        var accel = new Option<string>("--accel") { Description = "The accelerator each VM's vessel run uses: auto, kvm or software.", DefaultValueFactory = _ => "auto" };
        accel.AcceptOnlyFromAmong("auto", "kvm", "software");
        var command = new Command("serve", "Run the manager daemon: many VMs, one vessel run process each, driven by the CLI verbs (create, ps, ...) and an optional web dashboard.")
        {
            socket, http, allowRemote, token, stateDirectory, accel,
        };
        command.SetAction(parse =>
        {
            string state = Path.GetFullPath(parse.GetValue(stateDirectory) ?? ManagerOptions.DefaultStateDirectory());
            IPEndPoint? endPoint = null;
            string? secret = parse.GetValue(token);
            if (parse.GetValue(http) is { } address)
            {
                if (!IPEndPoint.TryParse(address, out endPoint) || endPoint.Port == 0)
                {
                    Console.Error.WriteLine($"vessel: --http: '{address}' is not ADDR:PORT; give e.g. 127.0.0.1:8080.");
                    return Program.UsageErrorStatus;
                }

                if (!IPAddress.IsLoopback(endPoint.Address) && !(parse.GetValue(allowRemote) && secret != null))
                {
                    Console.Error.WriteLine($"vessel: --http: {endPoint.Address} is not a loopback address; the dashboard controls every VM, so a remote listener needs --http-allow-remote and --token.");
                    return Program.UsageErrorStatus;
                }
            }

            string accelerator = parse.GetValue(accel) ?? "auto";
            var options = new ManagerOptions
            {
                SocketPath = Path.GetFullPath(parse.GetValue(socket) ?? ManagerOptions.DefaultSocketPath()),
                StateDirectory = state,
                HttpEndPoint = endPoint,
                HttpToken = secret,
                Vmm = VmmCommand.FromCurrentProcess(["--accel", accelerator]) with
                {
                    Environment = SoftwareCpuRuntime.WillRunOnSoftwareCpu(MachineLauncher.ParseAccelerator(accelerator))
                        ? new Dictionary<string, string> { [SoftwareCpuRuntime.Variable] = "0" }
                        : new Dictionary<string, string>(),
                },
            };
            try
            {
                return ManagerDaemon.RunAsync(options, Console.Error).GetAwaiter().GetResult();
            }
            catch (ManagerStartException exception)
            {
                Console.Error.WriteLine($"vessel: {exception.Message}");
                return 1;
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"vessel: serve: {exception.Message.TrimEnd('.')}; give a --socket and --state-dir this user can write (as a non-root user without XDG_RUNTIME_DIR, /run/vessel is not).");
                return 1;
            }
        });
        return command;
    }
}

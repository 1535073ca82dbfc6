using System.Net;
using Vessel.Server.Vms;

namespace Vessel.Server;

/// <summary>How <c>vessel serve</c> was asked to run.</summary>
public sealed record ManagerOptions
{
    public required string SocketPath { get; init; }

    public required string StateDirectory { get; init; }

    /// <summary>The dashboard's HTTP listener, or null for none.</summary>
    public IPEndPoint? HttpEndPoint { get; init; }

    /// <summary>The bearer token every HTTP API request and console WebSocket must carry.</summary>
    public string? HttpToken { get; init; }

    /// <summary>How each VM's VMM process is started (the same dotnet and vessel.dll as the daemon, by default).</summary>
    public required VmmCommand Vmm { get; init; }

    /// <summary>How long <c>stop</c> without --force waits for the guest after Ctrl-Alt-Del before SIGTERM.</summary>
    public TimeSpan StopTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long <c>start</c> waits for a VMM's API to report the machine running.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public int ConsoleLogCapacity { get; init; } = ConsoleLog.DefaultCapacity;

    /// <summary>The default Unix socket: <c>$XDG_RUNTIME_DIR/vessel/vessel.sock</c>, else <c>/run/vessel/vessel.sock</c>.</summary>
    public static string DefaultSocketPath()
    {
        string? runtime = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        return Path.Combine(string.IsNullOrEmpty(runtime) ? "/run" : runtime, "vessel", "vessel.sock");
    }

    /// <summary>The default state folder: <c>$XDG_STATE_HOME/vessel</c>, else <c>/var/lib/vessel</c> for root and <c>~/.local/state/vessel</c> for others.</summary>
    public static string DefaultStateDirectory()
    {
        string? state = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
        if (!string.IsNullOrEmpty(state))
        {
            return Path.Combine(state, "vessel");
        }

        return Environment.UserName == "root"
            ? "/var/lib/vessel"
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state", "vessel");
    }
}

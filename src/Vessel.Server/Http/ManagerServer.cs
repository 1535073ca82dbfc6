using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Vessel.Server.Vms;

namespace Vessel.Server.Http;

/// <summary>
/// The daemon's REST API: Kestrel on its Unix socket (mode 0600 in a 0700 folder, so only its user reaches it) and,
/// when asked, on a TCP address for the dashboard (the same API behind a bearer token, plus the page itself).
/// </summary>
public sealed class ManagerServer : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly string socketPath;

    private ManagerServer(WebApplication app, string socketPath)
    {
        this.app = app;
        this.socketPath = socketPath;
    }

    public static async Task<ManagerServer> StartAsync(ManagerOptions options, VmManager manager)
    {
        PrepareSocketPath(options.SocketPath);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Services.AddLogging();
        builder.Services.AddSingleton<IHostLifetime, NoHostLifetime>();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = VmManager.MaxConfigBytes;
            kestrel.ListenUnixSocket(options.SocketPath, listen => listen.Protocols = HttpProtocols.Http1);
            if (options.HttpEndPoint != null)
            {
                kestrel.Listen(options.HttpEndPoint, listen => listen.Protocols = HttpProtocols.Http1);
            }
        });
        var app = builder.Build();
        app.UseWebSockets();
        var router = new ManagerRouter(manager, options, new DashboardFiles(Path.Combine(AppContext.BaseDirectory, "wwwroot")));
        app.Run(router.HandleAsync);
        try
        {
            await app.StartAsync().ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is IOException or SocketException or UnauthorizedAccessException)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new ManagerStartException($"cannot listen ({exception.Message.TrimEnd('.')}); is another daemon using the address?");
        }

        File.SetUnixFileMode(options.SocketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return new ManagerServer(app, options.SocketPath);
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync().ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
        File.Delete(socketPath);
    }

    private static void PrepareSocketPath(string socketPath)
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(socketPath))!;
        if (!Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        if (!File.Exists(socketPath))
        {
            return;
        }

        // A socket that answers belongs to a daemon that runs; one that refuses was left by a daemon that died.
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(socketPath));
        }
        catch (SocketException)
        {
            File.Delete(socketPath);
            return;
        }

        throw new ManagerStartException($"--socket: a daemon already listens on '{socketPath}'. Stop it, or give this one another --socket and --state-dir.");
    }

    /// <summary>The daemon's lifetime is the serve command's, not the host's: no console or signal handling here.</summary>
    private sealed class NoHostLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

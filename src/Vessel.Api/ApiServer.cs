using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Vessel.Api;

/// <summary>
/// Firecracker's REST API over HTTP/1.1 on a Unix socket: Kestrel with nothing but one request delegate (no routing,
/// logging or configuration providers), which keeps start-up to the listening socket short.
/// </summary>
public sealed class ApiServer : IAsyncDisposable
{
    private readonly WebApplication app;

    private ApiServer(WebApplication app, string socketPath)
    {
        this.app = app;
        SocketPath = socketPath;
    }

    public string SocketPath { get; }

    /// <summary>Binds <paramref name="socketPath"/> and serves <paramref name="controller"/>; returns once the socket listens.</summary>
    public static async Task<ApiServer> StartAsync(string socketPath, VmController controller)
    {
        if (File.Exists(socketPath) || Directory.Exists(socketPath))
        {
            throw new ApiServerException($"--api-sock: '{socketPath}' already exists. Remove it (a socket left by an earlier run?) or choose another path.");
        }

        string? directory = Path.GetDirectoryName(Path.GetFullPath(socketPath));
        if (directory != null && !Directory.Exists(directory))
        {
            throw new ApiServerException($"--api-sock: the directory of '{socketPath}' does not exist. Create it or choose another path.");
        }

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(options =>
        {
            options.AddServerHeader = false;
            options.Limits.MaxRequestBodySize = RequestDispatcher.MaxBodyBytes;
            options.ListenUnixSocket(socketPath, listen => listen.Protocols = HttpProtocols.Http1);
        });
        builder.Services.AddSingleton<IHostLifetime, HostLifetime>();
        var app = builder.Build();
        var dispatcher = new RequestDispatcher(controller);
        app.Run(dispatcher.HandleAsync);
        try
        {
            await app.StartAsync().ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is IOException or SocketException or UnauthorizedAccessException)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new ApiServerException($"--api-sock: cannot listen on '{socketPath}' ({exception.Message}).");
        }

        return new ApiServer(app, socketPath);
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync().ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
        try
        {
            File.Delete(SocketPath);
        }
        catch (IOException)
        {
            // Kestrel removes the socket file itself on a clean stop; this only sweeps up after an unclean one.
        }
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Vessel.Server.Models;

namespace Vessel.Server.Client;

/// <summary>
/// The daemon's API from the client side (the CLI verbs, the tests): one method per endpoint over its Unix socket. A
/// refusal throws <see cref="ManagerClientException"/> with the daemon's sentence; no daemon listening throws it
/// saying so.
/// </summary>
public sealed class ManagerClient : IDisposable
{
    private readonly SocketsHttpHandler handler;
    private readonly HttpClient http;

    public ManagerClient(string socketPath, TimeSpan? timeout = null)
    {
        SocketPath = socketPath;
        handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellation) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellation).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch (SocketException exception)
                {
                    socket.Dispose();
                    string why = File.Exists(socketPath) ? exception.Message.TrimEnd('.') : "no such socket";
                    throw new ManagerClientException($"No vessel daemon is listening on {socketPath} ({why}); start one with 'vessel serve', or point --socket or VESSEL_SOCKET at it.", 0, exception);
                }
            },
        };
        http = new HttpClient(handler, disposeHandler: false) { BaseAddress = new Uri("http://localhost/"), Timeout = timeout ?? TimeSpan.FromMinutes(2) };
    }

    public string SocketPath { get; }

    public Task<List<VmInfo>> ListAsync(CancellationToken cancellation = default) =>
        SendAsync(HttpMethod.Get, "v1/vms", null, ManagerJsonContext.Default.ListVmInfo, cancellation);

    public Task<VmInfo> GetAsync(string name, CancellationToken cancellation = default) =>
        SendAsync(HttpMethod.Get, VmPath(name), null, ManagerJsonContext.Default.VmInfo, cancellation);

    public Task<VmInfo> CreateAsync(string name, string configJson, bool start, CancellationToken cancellation = default)
    {
        JsonElement config;
        try
        {
            config = JsonDocument.Parse(configJson).RootElement;
        }
        catch (JsonException exception)
        {
            throw new ManagerClientException($"the configuration is not JSON ({exception.Message})", 0);
        }

        var body = JsonSerializer.Serialize(new CreateVmRequest { Name = name, Config = config, Start = start }, ManagerJsonContext.Default.CreateVmRequest);
        return SendAsync(HttpMethod.Post, "v1/vms", body, ManagerJsonContext.Default.VmInfo, cancellation);
    }

    /// <summary>Defines a VM restored from a snapshot's files (absolute paths on the daemon's host), and starts it unless asked not to.</summary>
    public Task<VmInfo> RestoreAsync(string name, string snapshotPath, string memFilePath, bool start, CancellationToken cancellation = default)
    {
        var body = JsonSerializer.Serialize(
            new CreateVmRequest { Name = name, Restore = new RestoreSource { SnapshotPath = snapshotPath, MemFilePath = memFilePath }, Start = start },
            ManagerJsonContext.Default.CreateVmRequest);
        return SendAsync(HttpMethod.Post, "v1/vms", body, ManagerJsonContext.Default.VmInfo, cancellation);
    }

    /// <summary>Snapshots a running or paused VM into two files (absolute paths on the daemon's host); it is left as it was.</summary>
    public Task<VmInfo> SnapshotAsync(string name, string snapshotPath, string memFilePath, bool diff, CancellationToken cancellation = default) =>
        ActionAsync(
            name,
            "snapshot",
            JsonSerializer.Serialize(new SnapshotVmRequest { SnapshotPath = snapshotPath, MemFilePath = memFilePath, SnapshotType = diff ? "Diff" : "Full" }, ManagerJsonContext.Default.SnapshotVmRequest),
            cancellation);

    public Task<VmInfo> StartAsync(string name, CancellationToken cancellation = default) => ActionAsync(name, "start", null, cancellation);

    public Task<VmInfo> PauseAsync(string name, CancellationToken cancellation = default) => ActionAsync(name, "pause", null, cancellation);

    public Task<VmInfo> ResumeAsync(string name, CancellationToken cancellation = default) => ActionAsync(name, "resume", null, cancellation);

    public Task<VmInfo> StopAsync(string name, bool force, double? timeoutSeconds = null, CancellationToken cancellation = default) =>
        ActionAsync(name, "stop", JsonSerializer.Serialize(new StopVmRequest { Force = force, TimeoutSeconds = timeoutSeconds }, ManagerJsonContext.Default.StopVmRequest), cancellation);

    public async Task RemoveAsync(string name, CancellationToken cancellation = default)
    {
        using var response = await SendRawAsync(HttpMethod.Delete, VmPath(name), null, HttpCompletionOption.ResponseContentRead, cancellation).ConfigureAwait(false);
        await ThrowIfFailedAsync(response, cancellation).ConfigureAwait(false);
    }

    /// <summary>The serial console so far; with <paramref name="follow"/>, a stream that goes on until the VM stops.</summary>
    public async Task<Stream> LogsAsync(string name, bool follow, CancellationToken cancellation = default)
    {
        var response = await SendRawAsync(HttpMethod.Get, $"{VmPath(name)}/logs{(follow ? "?follow=true" : string.Empty)}", null, HttpCompletionOption.ResponseHeadersRead, cancellation).ConfigureAwait(false);
        await ThrowIfFailedAsync(response, cancellation).ConfigureAwait(false);
        return await response.Content.ReadAsStreamAsync(cancellation).ConfigureAwait(false);
    }

    /// <summary>Opens the VM's console WebSocket: binary messages received are output, messages sent are typed in.</summary>
    public async Task<WebSocket> ConnectConsoleAsync(string name, bool history, CancellationToken cancellation = default)
    {
        // Ask first, so that an unknown or stopped VM is one sentence rather than a failed upgrade.
        var info = await GetAsync(name, cancellation).ConfigureAwait(false);
        if (info.State is not (VmState.Running or VmState.Paused))
        {
            throw new ManagerClientException($"VM '{name}' is not running (it is {info.State}); start it first (vessel start {name}).", 409);
        }

        var socket = new ClientWebSocket();
        try
        {
            using var invoker = new HttpMessageInvoker(handler, disposeHandler: false);
            await socket.ConnectAsync(new Uri($"ws://localhost/{VmPath(name)}/console{(history ? "?history=true" : string.Empty)}"), invoker, cancellation).ConfigureAwait(false);
            return socket;
        }
        catch (WebSocketException exception)
        {
            socket.Dispose();
            throw new ManagerClientException($"cannot attach to VM '{name}''s console ({exception.Message})", 0, exception);
        }
    }

    public void Dispose()
    {
        http.Dispose();
        handler.Dispose();
    }

    private static string VmPath(string name) => $"v1/vms/{Uri.EscapeDataString(name)}";

    private Task<VmInfo> ActionAsync(string name, string action, string? body, CancellationToken cancellation) =>
        SendAsync(HttpMethod.Post, $"{VmPath(name)}/{action}", body, ManagerJsonContext.Default.VmInfo, cancellation);

    private async Task<T> SendAsync<T>(HttpMethod method, string path, string? body, JsonTypeInfo<T> type, CancellationToken cancellation)
    {
        using var response = await SendRawAsync(method, path, body, HttpCompletionOption.ResponseContentRead, cancellation).ConfigureAwait(false);
        await ThrowIfFailedAsync(response, cancellation).ConfigureAwait(false);
        string text = await response.Content.ReadAsStringAsync(cancellation).ConfigureAwait(false);
        return JsonSerializer.Deserialize(text, type) ?? throw new ManagerClientException($"{method} /{path} answered with an empty body.", (int)response.StatusCode);
    }

    private async Task<HttpResponseMessage> SendRawAsync(HttpMethod method, string path, string? body, HttpCompletionOption completion, CancellationToken cancellation)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body != null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        }

        try
        {
            return await http.SendAsync(request, completion, cancellation).ConfigureAwait(false);
        }
        catch (HttpRequestException exception) when (exception.InnerException is ManagerClientException unavailable)
        {
            throw unavailable;
        }
        catch (HttpRequestException exception)
        {
            throw new ManagerClientException($"the vessel daemon on {SocketPath} did not answer ({exception.Message.TrimEnd('.')}).", 0, exception);
        }
    }

    private static async Task ThrowIfFailedAsync(HttpResponseMessage response, CancellationToken cancellation)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        string text = await response.Content.ReadAsStringAsync(cancellation).ConfigureAwait(false);
        string message = text;
        try
        {
            message = JsonSerializer.Deserialize(text, ManagerJsonContext.Default.ManagerError)?.Error ?? text;
        }
        catch (JsonException)
        {
            // Not the manager's error shape: report the body as it came.
        }

        throw new ManagerClientException(message, (int)response.StatusCode);
    }
}

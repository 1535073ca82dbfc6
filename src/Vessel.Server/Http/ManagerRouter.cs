using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Vessel.Server.Models;
using Vessel.Server.Vms;

namespace Vessel.Server.Http;

/// <summary>
/// The manager's endpoints, one request delegate (no MVC, no reflection-based binding). Every refusal is a 4xx with
/// <c>{"error": "..."}</c>; a request body is read once, bounded, and checked field by field.
/// </summary>
/// <remarks>
/// <code>
/// GET    /v1/vms                      list (VmInfo[])
/// POST   /v1/vms                      {"name", "config": {Firecracker VM config}, "start": true} -> 201 VmInfo
///                                     or {"name", "restore": {"snapshot_path", "mem_file_path"}, "start": true}
/// GET    /v1/vms/NAME                 VmInfo
/// DELETE /v1/vms/NAME                 204 (refused while it runs)
/// POST   /v1/vms/NAME/start|pause|resume
/// POST   /v1/vms/NAME/stop            {"force": false, "timeout_seconds": 10}
/// POST   /v1/vms/NAME/snapshot        {"snapshot_path", "mem_file_path", "snapshot_type": "Full"|"Diff"}
/// GET    /v1/vms/NAME/logs[?follow=true]   the serial console so far (text), then as it comes
/// GET    /v1/vms/NAME/console[?history=true]  WebSocket: binary frames of console output; frames sent are typed in
/// </code>
/// </remarks>
public sealed class ManagerRouter(VmManager manager, ManagerOptions options, DashboardFiles dashboard)
{
    private const int HistoryBytes = 16 * 1024;

    private readonly byte[]? token = options.HttpToken is { } text ? Encoding.UTF8.GetBytes(text) : null;

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        string path = request.Path.Value ?? "/";
        try
        {
            if (HttpMethods.IsGet(request.Method) && dashboard.Serves(path))
            {
                await ServeFileAsync(context, path).ConfigureAwait(false);
                return;
            }

            if (!path.StartsWith("/v1/vms", StringComparison.Ordinal))
            {
                throw new ManagerRequestException(ManagerRequestException.NotFound, $"{request.Method} {path}: no such endpoint; the API is under /v1/vms (see docs/manager.md).");
            }

            // The Unix socket is guarded by its file mode; a TCP request must carry the token.
            if (context.Connection.LocalIpAddress != null && !HasToken(request))
            {
                throw new ManagerRequestException(ManagerRequestException.Unauthorized, "missing or wrong token: open the dashboard with the URL vessel serve printed (…/#token=...), or send 'Authorization: Bearer TOKEN'.");
            }

            string[] segments = path["/v1/vms".Length..].Split('/', StringSplitOptions.RemoveEmptyEntries);
            await DispatchAsync(context, segments).ConfigureAwait(false);
        }
        catch (ManagerRequestException exception)
        {
            await WriteErrorAsync(context, exception.Status, exception.Message).ConfigureAwait(false);
        }
        catch (BadHttpRequestException exception)
        {
            await WriteErrorAsync(context, ManagerRequestException.BadRequest, $"the request body is refused ({exception.Message.TrimEnd('.')}); a body may be up to {VmManager.MaxConfigBytes} bytes.").ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            // The host, not the request: a state folder that cannot be written, a process that cannot be read.
            Console.Error.WriteLine($"vessel serve: {request.Method} {path} failed: {exception}");
            await WriteErrorAsync(context, 500, $"the daemon could not complete {request.Method} {path}: {exception.Message.TrimEnd('.')}.").ConfigureAwait(false);
        }
    }

    private async Task DispatchAsync(HttpContext context, string[] segments)
    {
        var request = context.Request;
        var cancellation = context.RequestAborted;
        switch (segments, request.Method)
        {
            case ([], "GET"):
                await WriteJsonAsync(context, 200, [.. manager.List()], ManagerJsonContext.Default.ListVmInfo).ConfigureAwait(false);
                return;
            case ([], "POST"):
                {
                    var body = await ReadBodyAsync(request, ManagerJsonContext.Default.CreateVmRequest).ConfigureAwait(false);
                    var vm = manager.Define(body);
                    if (body.Start ?? true)
                    {
                        await vm.StartAsync(cancellation).ConfigureAwait(false);
                    }

                    await WriteJsonAsync(context, 201, vm.Info(), ManagerJsonContext.Default.VmInfo).ConfigureAwait(false);
                    return;
                }

            case ([var name], "GET"):
                await WriteJsonAsync(context, 200, manager.Get(name).Info(), ManagerJsonContext.Default.VmInfo).ConfigureAwait(false);
                return;
            case ([var name], "DELETE"):
                manager.Remove(name);
                context.Response.StatusCode = 204;
                return;
            case ([var name, "start"], "POST"):
                await manager.Get(name).StartAsync(cancellation).ConfigureAwait(false);
                break;
            case ([var name, "pause"], "POST"):
                await manager.Get(name).PauseAsync(cancellation).ConfigureAwait(false);
                break;
            case ([var name, "resume"], "POST"):
                await manager.Get(name).ResumeAsync(cancellation).ConfigureAwait(false);
                break;
            case ([var name, "stop"], "POST"):
                {
                    var vm = manager.Get(name);
                    var body = request.ContentLength is null or 0 && !request.Headers.TransferEncoding.Any()
                        ? new StopVmRequest()
                        : await ReadBodyAsync(request, ManagerJsonContext.Default.StopVmRequest).ConfigureAwait(false);
                    if (body.TimeoutSeconds is < 0 or > 3600)
                    {
                        throw new ManagerRequestException(ManagerRequestException.BadRequest, $"timeout_seconds: {body.TimeoutSeconds} is out of range; give 0 to 3600.");
                    }

                    await vm.StopAsync(body.Force ?? false, body.TimeoutSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : options.StopTimeout, cancellation).ConfigureAwait(false);
                    break;
                }

            case ([var name, "snapshot"], "POST"):
                {
                    var vm = manager.Get(name);
                    var body = await ReadBodyAsync(request, ManagerJsonContext.Default.SnapshotVmRequest).ConfigureAwait(false);
                    await vm.SnapshotAsync(SnapshotParams(body), cancellation).ConfigureAwait(false);
                    break;
                }

            case ([var name, "logs"], "GET"):
                await StreamLogsAsync(context, manager.Get(name), request.Query["follow"] == "true").ConfigureAwait(false);
                return;
            case ([var name, "console"], "GET"):
                await ServeConsoleAsync(context, manager.Get(name), request.Query["history"] == "true").ConfigureAwait(false);
                return;
            default:
                throw new ManagerRequestException(
                    segments.Length <= 2 ? ManagerRequestException.BadRequest : ManagerRequestException.NotFound,
                    $"{request.Method} {request.Path}: no such endpoint or method (see docs/manager.md for the API).");
        }

        await WriteJsonAsync(context, 200, manager.Get(segments[0]).Info(), ManagerJsonContext.Default.VmInfo).ConfigureAwait(false);
    }

    /// <summary>Checks a snapshot request: absolute paths in folders that exist, and Full or Diff.</summary>
    private static Vessel.Client.Models.SnapshotCreateParams SnapshotParams(SnapshotVmRequest body)
    {
        string type = body.SnapshotType ?? Vessel.Client.Models.SnapshotCreateParams.Full;
        if (type is not (Vessel.Client.Models.SnapshotCreateParams.Full or Vessel.Client.Models.SnapshotCreateParams.Diff))
        {
            throw new ManagerRequestException(ManagerRequestException.BadRequest, $"snapshot_type: '{type}' is not a snapshot type; give Full or Diff.");
        }

        return new Vessel.Client.Models.SnapshotCreateParams
        {
            SnapshotType = type,
            SnapshotPath = WritablePath("snapshot_path", body.SnapshotPath),
            MemFilePath = WritablePath("mem_file_path", body.MemFilePath),
        };
    }

    private static string WritablePath(string field, string? path)
    {
        if (string.IsNullOrEmpty(path) || !Path.IsPathFullyQualified(path))
        {
            throw new ManagerRequestException(ManagerRequestException.BadRequest, $"{field}: {(string.IsNullOrEmpty(path) ? "required" : $"'{path}' is not an absolute path")}; give the absolute path of the file to write on the daemon's host.");
        }

        return Directory.Exists(Path.GetDirectoryName(path))
            ? path
            : throw new ManagerRequestException(ManagerRequestException.BadRequest, $"{field}: the folder of '{path}' does not exist; create it first.");
    }

    private static async Task<T> ReadBodyAsync<T>(HttpRequest request, JsonTypeInfo<T> type)
        where T : class
    {
        if (request.ContentType is { } contentType && !contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            throw new ManagerRequestException(ManagerRequestException.BadRequest, $"Content-Type '{contentType}': send application/json.");
        }

        try
        {
            return await JsonSerializer.DeserializeAsync(request.Body, type, request.HttpContext.RequestAborted).ConfigureAwait(false)
                ?? throw new ManagerRequestException(ManagerRequestException.BadRequest, "the body is null; send a JSON object.");
        }
        catch (JsonException exception)
        {
            string where = exception.Path is { Length: > 1 } path ? $"{path[2..]}: " : string.Empty;
            string message = exception.Message;
            int end = message.IndexOf(". ", StringComparison.Ordinal);
            throw new ManagerRequestException(ManagerRequestException.BadRequest, $"{where}{(end > 0 ? message[..(end + 1)] : message)}");
        }
    }

    private static async Task StreamLogsAsync(HttpContext context, VmSupervisor vm, bool follow)
    {
        context.Response.ContentType = "text/plain; charset=utf-8";
        var (history, live) = vm.Console.Subscribe();
        using (live)
        {
            await context.Response.Body.WriteAsync(history, context.RequestAborted).ConfigureAwait(false);
            await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            if (!follow || !vm.IsRunning)
            {
                return;
            }

            await foreach (byte[] chunk in live.Reader.ReadAllAsync(context.RequestAborted).ConfigureAwait(false))
            {
                await context.Response.Body.WriteAsync(chunk, context.RequestAborted).ConfigureAwait(false);
                await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            }
        }
    }

    private static async Task ServeConsoleAsync(HttpContext context, VmSupervisor vm, bool withHistory)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            throw new ManagerRequestException(ManagerRequestException.BadRequest, "the console is a WebSocket: connect with an Upgrade: websocket request (vessel console NAME does).");
        }

        if (!vm.IsRunning)
        {
            throw new ManagerRequestException(ManagerRequestException.Conflict, $"VM '{vm.Name}' is not running (it is {vm.State}); start it first.");
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        var (history, live) = vm.Console.Subscribe();
        using (live)
        {
            using var done = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            var output = Task.Run(
                async () =>
                {
                    if (withHistory && history.Length > 0)
                    {
                        await socket.SendAsync(history.AsMemory(Math.Max(0, history.Length - HistoryBytes)), WebSocketMessageType.Binary, true, done.Token).ConfigureAwait(false);
                    }

                    await foreach (byte[] chunk in live.Reader.ReadAllAsync(done.Token).ConfigureAwait(false))
                    {
                        await socket.SendAsync(chunk, WebSocketMessageType.Binary, true, done.Token).ConfigureAwait(false);
                    }
                },
                done.Token);
            var buffer = new byte[4096];
            try
            {
                while (!output.IsCompleted)
                {
                    var received = await socket.ReceiveAsync(buffer, done.Token).ConfigureAwait(false);
                    if (received.MessageType == WebSocketMessageType.Close)
                    {
                        break;
                    }

                    vm.WriteConsole(buffer.AsSpan(0, received.Count));
                }
            }
            catch (Exception exception) when (exception is WebSocketException or OperationCanceledException)
            {
                // The browser or CLI went away.
            }

            await done.CancelAsync().ConfigureAwait(false);
            try
            {
                await output.ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is WebSocketException or OperationCanceledException)
            {
                // Cancelled above.
            }

            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                string why = vm.IsRunning ? "detached" : $"VM '{vm.Name}' is {vm.State}";
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, why, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private static async Task WriteJsonAsync<T>(HttpContext context, int status, T value, JsonTypeInfo<T> type)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, value, type, context.RequestAborted).ConfigureAwait(false);
    }

    private static Task WriteErrorAsync(HttpContext context, int status, string message)
    {
        if (context.Response.HasStarted)
        {
            return Task.CompletedTask;
        }

        return WriteJsonAsync(context, status, new ManagerError(message), ManagerJsonContext.Default.ManagerError);
    }

    private bool HasToken(HttpRequest request)
    {
        if (token == null)
        {
            return false;
        }

        string? given = request.Headers.Authorization.ToString() is { Length: > 7 } header && header.StartsWith("Bearer ", StringComparison.Ordinal)
            ? header[7..]
            : request.Query["token"].ToString();
        return !string.IsNullOrEmpty(given) && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), token);
    }

    private async Task ServeFileAsync(HttpContext context, string path)
    {
        var (file, contentType, missing) = dashboard.Find(path);
        if (file == null)
        {
            context.Response.StatusCode = 503;
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync(missing!, context.RequestAborted).ConfigureAwait(false);
            return;
        }

        context.Response.ContentType = contentType;
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Content-Type-Options"] = "nosniff";
        context.Response.Headers.ContentSecurityPolicy = "default-src 'self'; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'";
        await context.Response.SendFileAsync(file, context.RequestAborted).ConfigureAwait(false);
    }
}

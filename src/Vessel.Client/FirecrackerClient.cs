using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Vessel.Client.Models;

namespace Vessel.Client;

/// <summary>
/// A typed async client for Firecracker's REST API over its Unix socket, which Vessel (<c>vessel run --api-sock</c>)
/// and Firecracker itself both serve. Each method is one request; a 4xx answer throws
/// <see cref="FirecrackerApiException"/> with the server's <c>fault_message</c>.
/// </summary>
public sealed class FirecrackerClient : IDisposable
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");

    private readonly HttpClient http;

    public FirecrackerClient(string socketPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(socketPath);
        SocketPath = socketPath;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellation) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellation).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };

        // The host name is only what the Host header says; curl --unix-socket uses "localhost" the same way.
        http = new HttpClient(handler) { BaseAddress = new Uri("http://localhost/"), Timeout = TimeSpan.FromSeconds(60) };
    }

    public string SocketPath { get; }

    public Task<InstanceInfo> GetInstanceInfoAsync(CancellationToken cancellation = default) =>
        GetAsync("", ClientJsonContext.Default.InstanceInfo, cancellation);

    public Task<FirecrackerVersion> GetVersionAsync(CancellationToken cancellation = default) =>
        GetAsync("version", ClientJsonContext.Default.FirecrackerVersion, cancellation);

    public Task<MachineConfiguration> GetMachineConfigAsync(CancellationToken cancellation = default) =>
        GetAsync("machine-config", ClientJsonContext.Default.MachineConfiguration, cancellation);

    public Task<FullVmConfiguration> GetVmConfigAsync(CancellationToken cancellation = default) =>
        GetAsync("vm/config", ClientJsonContext.Default.FullVmConfiguration, cancellation);

    public Task PutBootSourceAsync(BootSource bootSource, CancellationToken cancellation = default) =>
        SendAsync(HttpMethod.Put, "boot-source", bootSource, ClientJsonContext.Default.BootSource, cancellation);

    public Task PutMachineConfigAsync(MachineConfiguration config, CancellationToken cancellation = default) =>
        SendAsync(HttpMethod.Put, "machine-config", config, ClientJsonContext.Default.MachineConfiguration, cancellation);

    public Task PatchMachineConfigAsync(MachineConfiguration config, CancellationToken cancellation = default) =>
        SendAsync(HttpMethod.Patch, "machine-config", config, ClientJsonContext.Default.MachineConfiguration, cancellation);

    public Task PutDriveAsync(Drive drive, CancellationToken cancellation = default) =>
        SendAsync(HttpMethod.Put, $"drives/{Uri.EscapeDataString(drive.DriveId)}", drive, ClientJsonContext.Default.Drive, cancellation);

    public Task PatchDriveAsync(PartialDrive drive, CancellationToken cancellation = default) =>
        SendAsync(HttpMethod.Patch, $"drives/{Uri.EscapeDataString(drive.DriveId)}", drive, ClientJsonContext.Default.PartialDrive, cancellation);

    public Task PutNetworkInterfaceAsync(NetworkInterface network, CancellationToken cancellation = default) =>
        SendAsync(HttpMethod.Put, $"network-interfaces/{Uri.EscapeDataString(network.IfaceId)}", network, ClientJsonContext.Default.NetworkInterface, cancellation);

    public Task PatchNetworkInterfaceAsync(PartialNetworkInterface network, CancellationToken cancellation = default) =>
        SendAsync(HttpMethod.Patch, $"network-interfaces/{Uri.EscapeDataString(network.IfaceId)}", network, ClientJsonContext.Default.PartialNetworkInterface, cancellation);

    public Task PutVsockAsync(Vsock vsock, CancellationToken cancellation = default) =>
        SendAsync(HttpMethod.Put, "vsock", vsock, ClientJsonContext.Default.Vsock, cancellation);

    public Task PutEntropyAsync(EntropyDevice entropy, CancellationToken cancellation = default) =>
        SendAsync(HttpMethod.Put, "entropy", entropy, ClientJsonContext.Default.EntropyDevice, cancellation);

    public Task PutLoggerAsync(Logger logger, CancellationToken cancellation = default) =>
        SendAsync(HttpMethod.Put, "logger", logger, ClientJsonContext.Default.Logger, cancellation);

    public Task PutMetricsAsync(Metrics metrics, CancellationToken cancellation = default) =>
        SendAsync(HttpMethod.Put, "metrics", metrics, ClientJsonContext.Default.Metrics, cancellation);

    public Task PutSerialAsync(SerialDevice serial, CancellationToken cancellation = default) =>
        SendAsync(HttpMethod.Put, "serial", serial, ClientJsonContext.Default.SerialDevice, cancellation);

    public Task PutActionAsync(string actionType, CancellationToken cancellation = default) =>
        SendAsync(HttpMethod.Put, "actions", new InstanceActionInfo { ActionType = actionType }, ClientJsonContext.Default.InstanceActionInfo, cancellation);

    public Task StartInstanceAsync(CancellationToken cancellation = default) => PutActionAsync(InstanceActionInfo.InstanceStart, cancellation);

    public Task SendCtrlAltDelAsync(CancellationToken cancellation = default) => PutActionAsync(InstanceActionInfo.SendCtrlAltDel, cancellation);

    public Task FlushMetricsAsync(CancellationToken cancellation = default) => PutActionAsync(InstanceActionInfo.FlushMetrics, cancellation);

    /// <summary><c>PUT /snapshot/create</c>: writes the paused microVM's state and memory.</summary>
    public Task CreateSnapshotAsync(SnapshotCreateParams snapshot, CancellationToken cancellation = default) =>
        SendAsync(HttpMethod.Put, "/snapshot/create", snapshot, ClientJsonContext.Default.SnapshotCreateParams, cancellation);

    /// <summary><c>PUT /snapshot/load</c>: restores a snapshot into this (fresh) VMM.</summary>
    public Task LoadSnapshotAsync(SnapshotLoadParams snapshot, CancellationToken cancellation = default) =>
        SendAsync(HttpMethod.Put, "/snapshot/load", snapshot, ClientJsonContext.Default.SnapshotLoadParams, cancellation);

    public Task PatchVmAsync(string state, CancellationToken cancellation = default) =>
        SendAsync(HttpMethod.Patch, "vm", new Vm { State = state }, ClientJsonContext.Default.Vm, cancellation);

    public Task PauseAsync(CancellationToken cancellation = default) => PatchVmAsync(Vm.Paused, cancellation);

    public Task ResumeAsync(CancellationToken cancellation = default) => PatchVmAsync(Vm.Resumed, cancellation);

    /// <summary>Sends any request with a raw body and returns the status and body as they came, for endpoints without a typed method.</summary>
    public async Task<(HttpStatusCode Status, string Body)> SendRawAsync(HttpMethod method, string path, string? jsonBody, CancellationToken cancellation = default)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (jsonBody != null)
        {
            request.Content = new StringContent(jsonBody, Json);
        }

        using var response = await http.SendAsync(request, cancellation).ConfigureAwait(false);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(cancellation).ConfigureAwait(false));
    }

    public void Dispose() => http.Dispose();

    private async Task<T> GetAsync<T>(string path, JsonTypeInfo<T> type, CancellationToken cancellation)
    {
        using var response = await http.GetAsync(path, cancellation).ConfigureAwait(false);
        await ThrowIfFailedAsync(response, cancellation).ConfigureAwait(false);
        await using var body = await response.Content.ReadAsStreamAsync(cancellation).ConfigureAwait(false);
        return await JsonSerializer.DeserializeAsync(body, type, cancellation).ConfigureAwait(false)
            ?? throw new FirecrackerApiException(response.StatusCode, $"GET /{path} answered with an empty body.");
    }

    private async Task SendAsync<T>(HttpMethod method, string path, T body, JsonTypeInfo<T> type, CancellationToken cancellation)
    {
        using var request = new HttpRequestMessage(method, path)
        {
            Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, type)),
        };
        request.Content.Headers.ContentType = Json;
        using var response = await http.SendAsync(request, cancellation).ConfigureAwait(false);
        await ThrowIfFailedAsync(response, cancellation).ConfigureAwait(false);
    }

    private static async Task ThrowIfFailedAsync(HttpResponseMessage response, CancellationToken cancellation)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        string text = await response.Content.ReadAsStringAsync(cancellation).ConfigureAwait(false);
        string fault = text;
        try
        {
            fault = JsonSerializer.Deserialize(text, ClientJsonContext.Default.ApiError)?.FaultMessage ?? text;
        }
        catch (JsonException)
        {
            // Not Firecracker's error shape: report the body as it came.
        }

        throw new FirecrackerApiException(response.StatusCode, fault);
    }
}

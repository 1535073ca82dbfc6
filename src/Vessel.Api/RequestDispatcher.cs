using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Vessel.Api.Logging;
using Vessel.Client.Models;

namespace Vessel.Api;

/// <summary>
/// Routes each HTTP request to the <see cref="VmController"/> by Firecracker's method and path table, and turns every
/// refusal (an unknown path, malformed JSON, a validation error, anything thrown) into 400 with a fault_message: a
/// client never sees a 500 or a dropped connection.
/// </summary>
public sealed class RequestDispatcher(VmController controller)
{
    /// <summary>Firecracker's limit on a request body (http_api_max_payload_size's default).</summary>
    public const int MaxBodyBytes = 51200;

    /// <summary>Endpoints of Firecracker's API that Vessel does not serve yet; any method on them gets a 400 that says so.</summary>
    private static readonly string[] UnsupportedPrefixes = ["/balloon", "/mmds", "/hotplug", "/pmem", "/cpu-config"];

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        string method = request.Method;
        string path = request.Path.Value ?? "/";
        controller.MetricsSink.CountRequest();
        try
        {
            controller.Log.Write(LogLevel.Info, "api", $"The API server received a {method} request on \"{path}\".");
            await RouteAsync(context, method, path).ConfigureAwait(false);
        }
        catch (Exception exception) when (!context.Response.HasStarted)
        {
            string message = exception switch
            {
                ApiRequestException => exception.Message,
                JsonException json => $"The request body is not valid: {JsonErrors.Describe(json)}",
                BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => $"The request body is larger than {MaxBodyBytes} bytes.",
                BadHttpRequestException http => $"The request is malformed: {http.Message}",
                _ => $"The request could not be served: {exception.Message}",
            };
            controller.Log.Write(LogLevel.Error, "api", $"{method} {path}: {message}");
            controller.MetricsSink.CountFailure();
            await WriteErrorAsync(context, message).ConfigureAwait(false);
        }
    }

    private async Task RouteAsync(HttpContext context, string method, string path)
    {
        string trimmed = path.Length > 1 ? path.TrimEnd('/') : path;
        switch (method, trimmed)
        {
            case ("GET", "/"):
                await WriteJsonAsync(context, controller.GetInstanceInfo(), ApiJsonContext.Default.InstanceInfo).ConfigureAwait(false);
                return;
            case ("GET", "/version"):
                await WriteJsonAsync(context, new FirecrackerVersion { FirecrackerVersionValue = VmController.FirecrackerApiVersion }, ApiJsonContext.Default.FirecrackerVersion).ConfigureAwait(false);
                return;
            case ("GET", "/machine-config"):
                await WriteJsonAsync(context, controller.GetMachineConfig(), ApiJsonContext.Default.MachineConfiguration).ConfigureAwait(false);
                return;
            case ("GET", "/vm/config"):
                await WriteJsonAsync(context, controller.GetVmConfig(), ApiJsonContext.Default.FullVmConfiguration).ConfigureAwait(false);
                return;
            case ("PUT", "/boot-source"):
                controller.PutBootSource(await ReadAsync(context, ApiJsonContext.Default.BootSource).ConfigureAwait(false));
                break;
            case ("PUT", "/machine-config"):
                controller.PutMachineConfig(await ReadAsync(context, ApiJsonContext.Default.MachineConfiguration).ConfigureAwait(false));
                break;
            case ("PATCH", "/machine-config"):
                controller.PatchMachineConfig(await ReadAsync(context, ApiJsonContext.Default.MachineConfiguration).ConfigureAwait(false));
                break;
            case ("PUT", "/actions"):
                controller.PerformAction(await ReadAsync(context, ApiJsonContext.Default.InstanceActionInfo).ConfigureAwait(false));
                break;
            case ("PUT", "/snapshot/create"):
                controller.CreateSnapshot(await ReadAsync(context, ApiJsonContext.Default.SnapshotCreateParams).ConfigureAwait(false));
                break;
            case ("PUT", "/snapshot/load"):
                controller.LoadSnapshot(await ReadAsync(context, ApiJsonContext.Default.SnapshotLoadParams).ConfigureAwait(false));
                break;
            case ("PATCH", "/vm"):
                controller.PatchVm(await ReadAsync(context, ApiJsonContext.Default.Vm).ConfigureAwait(false));
                break;
            case ("PUT", "/logger"):
                controller.PutLogger(await ReadAsync(context, ApiJsonContext.Default.Logger).ConfigureAwait(false));
                break;
            case ("PUT", "/metrics"):
                controller.PutMetrics(await ReadAsync(context, ApiJsonContext.Default.Metrics).ConfigureAwait(false));
                break;
            case ("PUT", "/serial"):
                controller.PutSerial(await ReadAsync(context, ApiJsonContext.Default.SerialDevice).ConfigureAwait(false));
                break;
            case ("PUT", "/entropy"):
                controller.PutEntropy(await ReadAsync(context, ApiJsonContext.Default.EntropyDevice).ConfigureAwait(false));
                break;
            case ("PUT", "/vsock"):
                controller.PutVsock(await ReadAsync(context, ApiJsonContext.Default.Vsock).ConfigureAwait(false));
                break;
            case ("PUT", _) when TryGetId(trimmed, "/drives/", out string driveId):
                controller.PutDrive(driveId, await ReadAsync(context, ApiJsonContext.Default.Drive).ConfigureAwait(false));
                break;
            case ("PATCH", _) when TryGetId(trimmed, "/drives/", out string driveId):
                controller.PatchDrive(driveId, await ReadAsync(context, ApiJsonContext.Default.PartialDrive).ConfigureAwait(false));
                break;
            case ("PUT", _) when TryGetId(trimmed, "/network-interfaces/", out string ifaceId):
                controller.PutNetworkInterface(ifaceId, await ReadAsync(context, ApiJsonContext.Default.NetworkInterface).ConfigureAwait(false));
                break;
            case ("PATCH", _) when TryGetId(trimmed, "/network-interfaces/", out string ifaceId):
                controller.PatchNetworkInterface(ifaceId, await ReadAsync(context, ApiJsonContext.Default.PartialNetworkInterface).ConfigureAwait(false));
                break;
            default:
                foreach (string prefix in UnsupportedPrefixes)
                {
                    if (trimmed == prefix || trimmed.StartsWith(prefix + "/", StringComparison.Ordinal))
                    {
                        throw new ApiRequestException($"{prefix} is not supported by Vessel yet.");
                    }
                }

                throw new ApiRequestException($"Invalid request method and/or path: {method} {path}.");
        }

        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private static bool TryGetId(string path, string prefix, out string id)
    {
        id = string.Empty;
        if (!path.StartsWith(prefix, StringComparison.Ordinal) || path.Length == prefix.Length || path.IndexOf('/', prefix.Length) >= 0)
        {
            return false;
        }

        id = Uri.UnescapeDataString(path[prefix.Length..]);
        return true;
    }

    private static async Task<T> ReadAsync<T>(HttpContext context, JsonTypeInfo<T> type)
    {
        var body = new MemoryStream();
        var buffer = new byte[4096];
        int read;
        while ((read = await context.Request.Body.ReadAsync(buffer, context.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (body.Length + read > MaxBodyBytes)
            {
                throw new ApiRequestException($"The request body is larger than {MaxBodyBytes} bytes.");
            }

            body.Write(buffer, 0, read);
        }

        if (body.Length == 0)
        {
            throw new ApiRequestException("The request has no body. Send the resource as JSON.");
        }

        return JsonSerializer.Deserialize(body.GetBuffer().AsSpan(0, (int)body.Length), type)
            ?? throw new ApiRequestException("The request body is null. Send the resource as a JSON object.");
    }

    private static async Task WriteJsonAsync<T>(HttpContext context, T value, JsonTypeInfo<T> type)
    {
        byte[] bytes = Serialize(value, type);
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// JSON with only what JSON requires escaped: paths and messages keep their quotes and apostrophes readable for curl
    /// users (the default encoder writes ' as \u0027). Responses are application/json, never HTML, so the relaxed encoder is safe.
    /// </summary>
    private static byte[] Serialize<T>(T value, JsonTypeInfo<T> type)
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            JsonSerializer.Serialize(writer, value, type);
        }

        return buffer.ToArray();
    }

    private static Task WriteErrorAsync(HttpContext context, string message)
    {
        context.Response.Clear();
        byte[] bytes = Serialize(new ApiError { FaultMessage = message }, ApiJsonContext.Default.ApiError);
        context.Response.StatusCode = StatusCodes.Status400BadRequest;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = bytes.Length;
        return context.Response.Body.WriteAsync(bytes, context.RequestAborted).AsTask();
    }
}

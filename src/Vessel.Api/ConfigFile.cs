using System.Text.Json;
using Vessel.Client.Models;

namespace Vessel.Api;

/// <summary>Reads Firecracker's VM configuration JSON (<c>--config-file</c>) with the same strict rules as the API.</summary>
public static class ConfigFile
{
    public static FullVmConfiguration Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new ApiRequestException($"--config-file: '{path}' cannot be read ({exception.Message}).");
        }

        try
        {
            return JsonSerializer.Deserialize(bytes, ApiJsonContext.Default.FullVmConfiguration)
                ?? throw new ApiRequestException($"--config-file: '{path}' holds null, not a configuration object.");
        }
        catch (JsonException exception)
        {
            throw new ApiRequestException($"--config-file: '{path}' is not a valid configuration: {JsonErrors.Describe(exception)}");
        }
    }
}

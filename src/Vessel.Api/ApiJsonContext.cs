using System.Text.Json.Serialization;
using Vessel.Client.Models;

namespace Vessel.Api;

/// <summary>
/// Source-generated JSON for the server, as strict as Firecracker's serde models (deny_unknown_fields): an unknown field,
/// a missing required field, a null where a value is required or a value of the wrong type is a 400, never ignored.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    RespectNullableAnnotations = true)]
[JsonSerializable(typeof(ApiError))]
[JsonSerializable(typeof(BootSource))]
[JsonSerializable(typeof(Drive))]
[JsonSerializable(typeof(EntropyDevice))]
[JsonSerializable(typeof(FirecrackerVersion))]
[JsonSerializable(typeof(FullVmConfiguration))]
[JsonSerializable(typeof(InstanceActionInfo))]
[JsonSerializable(typeof(InstanceInfo))]
[JsonSerializable(typeof(Logger))]
[JsonSerializable(typeof(MachineConfiguration))]
[JsonSerializable(typeof(Metrics))]
[JsonSerializable(typeof(NetworkInterface))]
[JsonSerializable(typeof(PartialDrive))]
[JsonSerializable(typeof(PartialNetworkInterface))]
[JsonSerializable(typeof(SerialDevice))]
[JsonSerializable(typeof(SnapshotCreateParams))]
[JsonSerializable(typeof(SnapshotLoadParams))]
[JsonSerializable(typeof(Vm))]
[JsonSerializable(typeof(Vsock))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;

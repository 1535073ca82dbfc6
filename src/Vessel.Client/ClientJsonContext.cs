using System.Text.Json.Serialization;
using Vessel.Client.Models;

namespace Vessel.Client;

/// <summary>
/// Source-generated JSON for the client: snake_case names as Firecracker's swagger spells them, absent fields left out
/// of requests, and fields a newer server adds skipped on read.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
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
internal sealed partial class ClientJsonContext : JsonSerializerContext;

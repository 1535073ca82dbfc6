using System.Text.Json.Serialization;
using Vessel.Server.Models;
using Vessel.Server.Vms;

namespace Vessel.Server;

/// <summary>
/// Source-generated JSON for the manager's API and its state files: snake_case as Firecracker's API spells fields,
/// absent fields left out, unknown fields refused (a misspelt field is an error, not silently ignored).
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    WriteIndented = false)]
[JsonSerializable(typeof(VmInfo))]
[JsonSerializable(typeof(List<VmInfo>))]
[JsonSerializable(typeof(CreateVmRequest))]
[JsonSerializable(typeof(StopVmRequest))]
[JsonSerializable(typeof(SnapshotVmRequest))]
[JsonSerializable(typeof(ManagerError))]
[JsonSerializable(typeof(VmRecord))]
[JsonSerializable(typeof(Vessel.Client.Models.FullVmConfiguration))]
public sealed partial class ManagerJsonContext : JsonSerializerContext;

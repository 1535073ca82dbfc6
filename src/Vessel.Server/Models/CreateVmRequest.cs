using System.Text.Json;

namespace Vessel.Server.Models;

/// <summary>
/// The body of <c>POST /v1/vms</c>: a name and either Firecracker's VM configuration JSON (what <c>--config-file</c>
/// reads) or the snapshot to restore the VM from.
/// </summary>
public sealed record CreateVmRequest
{
    public string? Name { get; init; }

    public JsonElement? Config { get; init; }

    public RestoreSource? Restore { get; init; }

    /// <summary>Start the VM at once (the default) or only define it.</summary>
    public bool? Start { get; init; }
}

using System.Text.Json.Serialization;

namespace Vessel.Client.Models;

/// <summary>Firecracker's FirecrackerVersion (<c>GET /version</c>): the API version this VMM speaks.</summary>
public sealed record FirecrackerVersion
{
    /// <summary>The <c>firecracker_version</c> field (a member cannot share its type's name).</summary>
    [JsonPropertyName("firecracker_version")]
    public required string FirecrackerVersionValue { get; init; }
}

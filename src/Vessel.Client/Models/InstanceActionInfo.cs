namespace Vessel.Client.Models;

/// <summary>Firecracker's InstanceActionInfo (<c>PUT /actions</c>): InstanceStart, SendCtrlAltDel or FlushMetrics.</summary>
public sealed record InstanceActionInfo
{
    public const string InstanceStart = "InstanceStart";
    public const string SendCtrlAltDel = "SendCtrlAltDel";
    public const string FlushMetrics = "FlushMetrics";

    public required string ActionType { get; init; }
}

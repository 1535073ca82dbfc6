namespace Vessel.Client.Models;

/// <summary>Firecracker's Logger (<c>PUT /logger</c>): where the VMM's log goes and how much of it.</summary>
public sealed record Logger
{
    /// <summary>Error, Warning, Info (the default), Debug, Trace or Off; case-insensitive.</summary>
    public string? Level { get; init; }

    public string? LogPath { get; init; }

    public bool? ShowLevel { get; init; }

    public bool? ShowLogOrigin { get; init; }

    public string? Module { get; init; }
}

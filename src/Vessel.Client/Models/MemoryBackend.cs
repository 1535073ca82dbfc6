namespace Vessel.Client.Models;

/// <summary>Firecracker's MemoryBackend: where a loaded snapshot's guest memory comes from.</summary>
public sealed record MemoryBackend
{
    public const string File = "File";
    public const string Uffd = "Uffd";

    /// <summary>"File" (mapped copy-on-write, read lazily); "Uffd" is not supported.</summary>
    public required string BackendType { get; init; }

    public required string BackendPath { get; init; }
}

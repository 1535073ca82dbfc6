namespace Vessel.Client.Models;

/// <summary>Firecracker's BootSource: the kernel, its command line and an optional initrd (<c>PUT /boot-source</c>).</summary>
public sealed record BootSource
{
    public required string KernelImagePath { get; init; }

    public string? BootArgs { get; init; }

    public string? InitrdPath { get; init; }
}

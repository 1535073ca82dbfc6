namespace Vessel.Server.Models;

/// <summary>
/// The cgroup v2 limits a VM's process runs under: <c>cpu.max</c> as written ("200000 100000" is two CPUs) and
/// <c>memory.max</c> in bytes; both null where the host does not delegate cgroups (<see cref="Note"/> says why).
/// </summary>
public sealed record VmLimits
{
    public string? CpuMax { get; init; }

    public long? MemoryMaxBytes { get; init; }

    public string? Cgroup { get; init; }

    public string? Note { get; init; }
}

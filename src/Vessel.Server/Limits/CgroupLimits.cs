using System.Globalization;

namespace Vessel.Server.Limits;

/// <summary>
/// One cgroup v2 group per VM, under a group of the daemon's own (<c>vessel-vms-ID</c> in the daemon's cgroup), with
/// <c>cpu.max</c> from the vCPU count and <c>memory.max</c> from guest memory plus the VMM's own overhead, so one VM
/// cannot starve the others. Where the host does not delegate (no cgroup2 mount, cpu or memory controllers bound to
/// cgroup v1 or not enabled for us, a read-only hierarchy), <see cref="Unavailable"/> says why and VMs run without.
/// </summary>
public sealed class CgroupLimits
{
    /// <summary>What the VMM itself needs beside guest RAM: the .NET runtime, the JIT's code, the software CPU's caches.</summary>
    public const long OverheadBytes = 192L << 20;
    public const int PeriodMicroseconds = 100_000;

    private readonly string? parent;

    private CgroupLimits(string? parent, string? unavailable)
    {
        this.parent = parent;
        Unavailable = unavailable;
    }

    /// <summary>Why limits are off on this host, or null when they are applied.</summary>
    public string? Unavailable { get; }

    /// <summary>
    /// Finds the daemon's cgroup v2 group from <paramref name="procSelfCgroup"/> and <paramref name="procSelfMountInfo"/>
    /// (the text of those files) and prepares <c>GROUP/vessel-vms-<paramref name="instance"/></c> with cpu and memory enabled.
    /// </summary>
    public static CgroupLimits Detect(string instance, string procSelfCgroup = "/proc/self/cgroup", string procSelfMountInfo = "/proc/self/mountinfo", string? mountOverride = null)
    {
        try
        {
            string? mount = mountOverride ?? FindCgroup2Mount(File.ReadAllLines(procSelfMountInfo));
            if (mount == null)
            {
                return new CgroupLimits(null, "no cgroup v2 hierarchy is mounted");
            }

            string? own = File.ReadAllLines(procSelfCgroup).FirstOrDefault(line => line.StartsWith("0::", StringComparison.Ordinal))?[3..];
            if (own == null)
            {
                return new CgroupLimits(null, "this process is in no cgroup v2 group");
            }

            string group = Path.Combine(mount, own.TrimStart('/'));
            var available = ReadWords(Path.Combine(group, "cgroup.controllers"));
            if (!available.Contains("cpu") || !available.Contains("memory"))
            {
                return new CgroupLimits(null, $"the cpu and memory controllers are not delegated to cgroup {own} (it offers: {(available.Count == 0 ? "none" : string.Join(' ', available))}; on a cgroup v1 or hybrid host they belong to v1)");
            }

            // cgroup v2's no-internal-processes rule: a non-root group that holds processes cannot enable controllers
            // for its children. The daemon moves itself into a leaf of its group first (as a systemd service with
            // Delegate=yes would); if others share the group, that is not enough and the write below is refused.
            string vms = Path.Combine(group, $"vessel-vms-{instance}");
            if (own != "/")
            {
                string leaf = Path.Combine(group, "vessel-daemon");
                Directory.CreateDirectory(leaf);
                File.WriteAllText(Path.Combine(leaf, "cgroup.procs"), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
            }

            File.WriteAllText(Path.Combine(group, "cgroup.subtree_control"), "+cpu +memory");
            Directory.CreateDirectory(vms);
            File.WriteAllText(Path.Combine(vms, "cgroup.subtree_control"), "+cpu +memory");
            return new CgroupLimits(vms, null);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return new CgroupLimits(null, $"the daemon's cgroup cannot be changed ({exception.Message.TrimEnd('.')}; run vessel serve in a delegated cgroup of its own, e.g. a systemd service with Delegate=yes)");
        }
    }

    /// <summary>cpu.max for <paramref name="vcpus"/> vCPUs: that many periods of CPU time per period.</summary>
    public static string CpuMax(int vcpus) => string.Create(CultureInfo.InvariantCulture, $"{(long)vcpus * PeriodMicroseconds} {PeriodMicroseconds}");

    public static long MemoryMax(int memSizeMib) => ((long)memSizeMib << 20) + OverheadBytes;

    /// <summary>Creates (or refreshes) the VM's group with its limits; returns its path for the VMM to join, or null when limits are off.</summary>
    public string? Prepare(string name, int vcpus, int memSizeMib)
    {
        if (parent == null)
        {
            return null;
        }

        string group = Path.Combine(parent, name);
        Directory.CreateDirectory(group);
        File.WriteAllText(Path.Combine(group, "cpu.max"), CpuMax(vcpus));
        File.WriteAllText(Path.Combine(group, "memory.max"), MemoryMax(memSizeMib).ToString(CultureInfo.InvariantCulture));
        return group;
    }

    /// <summary>Removes the VM's group (its process has exited; an empty cgroup directory is removed with rmdir).</summary>
    public void Remove(string name)
    {
        if (parent == null)
        {
            return;
        }

        try
        {
            Directory.Delete(Path.Combine(parent, name));
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // Still populated (a VMM not yet reaped) or already gone: the next start reuses it.
        }
    }

    internal static string? FindCgroup2Mount(IEnumerable<string> mountInfo)
    {
        // proc(5) mountinfo: "... mount-point options - fstype source super-options"; field 5 is the mount point.
        foreach (string line in mountInfo)
        {
            int separator = line.IndexOf(" - ", StringComparison.Ordinal);
            if (separator > 0 && line[(separator + 3)..].StartsWith("cgroup2 ", StringComparison.Ordinal))
            {
                return line.Split(' ')[4];
            }
        }

        return null;
    }

    private static HashSet<string> ReadWords(string path) =>
        File.Exists(path) ? [.. File.ReadAllText(path).Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries)] : [];
}

using Vessel.Server.Limits;

namespace Vessel.Server.Tests;

/// <summary>cgroup v2 detection and per-VM groups, against a cgroup tree laid out in a temporary folder.</summary>
public sealed class CgroupLimitsTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("vessel-cgroup-").FullName;
    private readonly string procCgroup;
    private readonly string mountInfo;

    public CgroupLimitsTests()
    {
        procCgroup = Path.Combine(root, "proc-self-cgroup");
        mountInfo = Path.Combine(root, "proc-self-mountinfo");
        File.WriteAllText(procCgroup, "0::/system.slice/vessel.service\n");
        File.WriteAllText(mountInfo, $"30 24 0:26 / {Path.Combine(root, "fs")} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
        Directory.CreateDirectory(Service);
    }

    private string Service => Path.Combine(root, "fs", "system.slice", "vessel.service");

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Fact]
    public void A_delegated_group_gets_a_child_group_per_vm_with_cpu_max_and_memory_max()
    {
        File.WriteAllText(Path.Combine(Service, "cgroup.controllers"), "cpuset cpu io memory pids\n");

        var limits = CgroupLimits.Detect("abcd1234", procCgroup, mountInfo);
        string? group = limits.Prepare("web", vcpus: 2, memSizeMib: 256);

        Assert.Null(limits.Unavailable);
        Assert.Equal(Path.Combine(Service, "vessel-vms-abcd1234", "web"), group);
        Assert.Equal("200000 100000", File.ReadAllText(Path.Combine(group!, "cpu.max")));
        Assert.Equal(((256L << 20) + CgroupLimits.OverheadBytes).ToString(), File.ReadAllText(Path.Combine(group!, "memory.max")));
        Assert.Equal("+cpu +memory", File.ReadAllText(Path.Combine(Service, "cgroup.subtree_control")));
        Assert.Equal("+cpu +memory", File.ReadAllText(Path.Combine(Service, "vessel-vms-abcd1234", "cgroup.subtree_control")));
        Assert.Equal(Environment.ProcessId.ToString(), File.ReadAllText(Path.Combine(Service, "vessel-daemon", "cgroup.procs")));
    }

    [Fact]
    public void Controllers_bound_to_cgroup_v1_leave_limits_off_with_the_reason()
    {
        File.WriteAllText(Path.Combine(Service, "cgroup.controllers"), "hugetlb\n");

        var limits = CgroupLimits.Detect("abcd1234", procCgroup, mountInfo);

        Assert.Contains("cpu and memory controllers are not delegated", limits.Unavailable);
        Assert.Contains("hugetlb", limits.Unavailable);
        Assert.Null(limits.Prepare("web", 1, 64));
    }

    [Fact]
    public void A_host_without_a_cgroup2_mount_leaves_limits_off_with_the_reason()
    {
        File.WriteAllText(mountInfo, "25 1 0:22 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");

        Assert.Equal("no cgroup v2 hierarchy is mounted", CgroupLimits.Detect("abcd1234", procCgroup, mountInfo).Unavailable);
    }

    [Theory]
    [InlineData(1, "100000 100000")]
    [InlineData(4, "400000 100000")]
    public void Cpu_max_allows_one_cpu_per_vcpu(int vcpus, string expected) => Assert.Equal(expected, CgroupLimits.CpuMax(vcpus));
}

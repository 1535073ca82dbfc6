using Vessel.Core.Accel.CpuModels;

namespace Vessel.Vmm.Configuration;

/// <summary>Everything needed to build a machine. Defaults follow Firecracker: 1 vCPU, 128 MiB.</summary>
public sealed record MachineConfig
{
    public const int MaxVcpus = 64;
    public const ulong MinMemoryBytes = 2UL << 20;

    /// <summary>Guest-physical memory beyond this needs a host with more RAM than any sensible host has.</summary>
    public const ulong MaxMemoryBytes = 1UL << 40;

    public required string KernelPath { get; init; }

    public string? InitrdPath { get; init; }

    public string CommandLine { get; init; } = string.Empty;

    public ulong MemoryBytes { get; init; } = 128UL << 20;

    public int VcpuCount { get; init; } = 1;

    public AcceleratorKind Accelerator { get; init; } = AcceleratorKind.Auto;

    /// <summary>The <c>--cpu</c> specification in QEMU's syntax (e.g. <c>qemu64,+x2apic</c>); null for the accelerator's default CPU.</summary>
    public string? Cpu { get; init; }

    /// <summary><c>--jit on|off</c>: the software CPU's compiling tier; null for its default (see docs/cpu.md).</summary>
    public bool? Jit { get; init; }

    /// <summary>virtio-blk disks, in the order the guest numbers them (vda, vdb, ...).</summary>
    public IReadOnlyList<DiskConfig> Disks { get; init; } = [];

    /// <summary>The parsed <see cref="Cpu"/>, or null when none was given; throws <see cref="ConfigurationException"/> naming what is wrong.</summary>
    public CpuModelSpec? ParseCpu()
    {
        if (Cpu is null)
        {
            return null;
        }

        try
        {
            return CpuModelSpec.Parse(Cpu);
        }
        catch (CpuModelException exception)
        {
            throw new ConfigurationException($"--cpu: {exception.Message}");
        }
    }

    /// <summary>Checks every setting and throws <see cref="ConfigurationException"/> naming the first one that is wrong.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(KernelPath))
        {
            throw new ConfigurationException("--kernel: no kernel given. Pass the path of a vmlinux, bzImage or multiboot image.");
        }

        RequireReadableFile(KernelPath, "--kernel", "a vmlinux, bzImage or multiboot image");
        if (InitrdPath != null)
        {
            RequireReadableFile(InitrdPath, "--initrd", "an initramfs (cpio, optionally compressed)");
        }

        if (VcpuCount < 1 || VcpuCount > MaxVcpus)
        {
            throw new ConfigurationException($"--cpus: {VcpuCount} is out of range. Give 1 to {MaxVcpus}.");
        }

        if (MemoryBytes < MinMemoryBytes || MemoryBytes > MaxMemoryBytes)
        {
            throw new ConfigurationException(
                $"--memory: {MemorySize.Format(MemoryBytes)} is out of range. Give {MemorySize.Format(MinMemoryBytes)} to {MemorySize.Format(MaxMemoryBytes)}.");
        }

        if (MemoryBytes % 4096 != 0)
        {
            throw new ConfigurationException($"--memory: {MemoryBytes} bytes is not a whole number of 4 KiB pages.");
        }

        ParseCpu();
    }

    private static void RequireReadableFile(string path, string option, string what)
    {
        if (Directory.Exists(path))
        {
            throw new ConfigurationException($"{option}: '{path}' is a directory. Give the path of {what}.");
        }

        if (!File.Exists(path))
        {
            throw new ConfigurationException($"{option}: '{path}' does not exist. Give the path of {what}.");
        }

        try
        {
            using var stream = File.OpenRead(path);
        }
        catch (Exception exception) when (exception is UnauthorizedAccessException or IOException)
        {
            throw new ConfigurationException($"{option}: '{path}' cannot be read ({exception.Message}). Check its permissions.");
        }
    }
}

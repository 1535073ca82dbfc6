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

    /// <summary>virtio-blk disks, in the order the guest numbers them (vda, vdb, ...).</summary>
    public IReadOnlyList<DiskConfig> Disks { get; init; } = [];

    /// <summary>virtio-net interfaces (not built yet: a machine with one refuses to start).</summary>
    public IReadOnlyList<NetworkInterfaceConfig> NetworkInterfaces { get; init; } = [];

    /// <summary>The virtio-vsock device, or null (not built yet: a machine with one refuses to start).</summary>
    public VsockConfig? Vsock { get; init; }

    /// <summary>The virtio-rng device, or null (not built yet: a machine with one refuses to start).</summary>
    public EntropyConfig? Entropy { get; init; }

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
            throw new ConfigurationException(ConfigField.Cpu, exception.Message);
        }
    }

    /// <summary>Checks every setting and throws <see cref="ConfigurationException"/> naming the first one that is wrong.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(KernelPath))
        {
            throw new ConfigurationException(ConfigField.KernelPath, "no kernel given. Pass the path of a vmlinux, bzImage or multiboot image.");
        }

        RequireReadableFile(KernelPath, ConfigField.KernelPath, "a vmlinux, bzImage or multiboot image");
        if (InitrdPath != null)
        {
            RequireReadableFile(InitrdPath, ConfigField.InitrdPath, "an initramfs (cpio, optionally compressed)");
        }

        if (VcpuCount < 1 || VcpuCount > MaxVcpus)
        {
            throw new ConfigurationException(ConfigField.VcpuCount, $"{VcpuCount} is out of range. Give 1 to {MaxVcpus}.");
        }

        if (MemoryBytes < MinMemoryBytes || MemoryBytes > MaxMemoryBytes)
        {
            throw new ConfigurationException(
                ConfigField.Memory,
                $"{MemorySize.Format(MemoryBytes)} is out of range. Give {MemorySize.Format(MinMemoryBytes)} to {MemorySize.Format(MaxMemoryBytes)}.");
        }

        if (MemoryBytes % 4096 != 0)
        {
            throw new ConfigurationException(ConfigField.Memory, $"{MemoryBytes} bytes is not a whole number of 4 KiB pages.");
        }

        ParseCpu();
        ValidateDevices();
    }

    private void ValidateDevices()
    {
        var driveIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var disk in Disks)
        {
            if (!driveIds.Add(disk.Id))
            {
                throw new ConfigurationException(ConfigField.DriveId, $"drive '{disk.Id}' is given twice. Give each drive its own id.");
            }

            RequireReadableFile(disk.Path, ConfigField.DrivePath, $"a disk image for drive '{disk.Id}'");
        }

        var interfaceIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var network in NetworkInterfaces)
        {
            if (!interfaceIds.Add(network.Id))
            {
                throw new ConfigurationException(ConfigField.NetworkInterfaceId, $"interface '{network.Id}' is given twice. Give each interface its own id.");
            }
        }

        if (Vsock is { GuestCid: < VsockConfig.MinGuestCid } vsock)
        {
            throw new ConfigurationException(ConfigField.VsockGuestCid, $"{vsock.GuestCid} is reserved. Give a context ID of {VsockConfig.MinGuestCid} or more.");
        }
    }

    /// <summary>Throws <see cref="ConfigurationException"/> for <paramref name="field"/> unless <paramref name="path"/> is a file this process can read.</summary>
    public static void RequireReadableFile(string path, ConfigField field, string what)
    {
        if (Directory.Exists(path))
        {
            throw new ConfigurationException(field, $"'{path}' is a directory. Give the path of {what}.");
        }

        if (!File.Exists(path))
        {
            throw new ConfigurationException(field, $"'{path}' does not exist. Give the path of {what}.");
        }

        try
        {
            using var stream = File.OpenRead(path);
        }
        catch (Exception exception) when (exception is UnauthorizedAccessException or IOException)
        {
            throw new ConfigurationException(field, $"'{path}' cannot be read ({exception.Message}). Check its permissions.");
        }
    }
}

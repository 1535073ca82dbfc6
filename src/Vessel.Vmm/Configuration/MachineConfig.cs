using Vessel.Core.Accel.CpuModels;
using Vessel.Core.Files;

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

    /// <summary>virtio-net interfaces, in the order the guest numbers them (eth0, eth1, ...).</summary>
    public IReadOnlyList<NetworkInterfaceConfig> NetworkInterfaces { get; init; } = [];

    /// <summary>The virtio-vsock device, or null.</summary>
    public VsockConfig? Vsock { get; init; }

    /// <summary>
    /// Firecracker's <c>track_dirty_pages</c>: record which guest pages change, so a diff snapshot can write only those.
    /// Costs a little on every first write to a page after each snapshot.
    /// </summary>
    public bool TrackDirtyPages { get; init; }

    /// <summary>The entropy device as the API or a config file gave it; every machine has a virtio-rng device whether or not this is set.</summary>
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
            throw ConfigurationException.InvalidValue(ConfigField.Cpu, exception.Message);
        }
    }

    /// <summary>Checks every setting and throws <see cref="ConfigurationException"/> naming the first one that is wrong.</summary>
    public void Validate() => Validate(requireBootFiles: true);

    /// <summary>Checks every setting; the kernel and initrd files only when <paramref name="requireBootFiles"/>.</summary>
    /// <param name="requireBootFiles">False for a machine restored from a snapshot, whose kernel and initrd are already in its memory.</param>
    public void Validate(bool requireBootFiles)
    {
        if (string.IsNullOrWhiteSpace(KernelPath))
        {
            throw new ConfigurationException(ConfigField.KernelPath, "no kernel given. Pass the path of a vmlinux, bzImage or multiboot image.");
        }

        if (VcpuCount < 1 || VcpuCount > MaxVcpus)
        {
            throw ConfigurationException.InvalidValue(ConfigField.VcpuCount, $"{VcpuCount} is out of range. Give 1 to {MaxVcpus}.");
        }

        if (MemoryBytes < MinMemoryBytes || MemoryBytes > MaxMemoryBytes)
        {
            throw ConfigurationException.InvalidValue(
                ConfigField.Memory,
                $"{MemorySize.Format(MemoryBytes)} is out of range. Give {MemorySize.Format(MinMemoryBytes)} to {MemorySize.Format(MaxMemoryBytes)}.");
        }

        if (MemoryBytes % 4096 != 0)
        {
            throw ConfigurationException.InvalidValue(ConfigField.Memory, $"{MemoryBytes} bytes is not a whole number of 4 KiB pages.");
        }

        ParseCpu();
        ValidateDisks();
        ValidateNetworks();

        // Files last: their size limit is the memory size just checked. Opened without blocking, so a FIFO cannot hang us.
        long memoryLimit = (long)Math.Min(MemoryBytes, long.MaxValue);
        if (requireBootFiles)
        {
            RequireReadableFile(KernelPath, ConfigField.KernelPath, KernelDescription, memoryLimit, MemoryLimitMeaning);
        }

        if (requireBootFiles && InitrdPath != null)
        {
            RequireReadableFile(InitrdPath, ConfigField.InitrdPath, InitrdDescription, memoryLimit, MemoryLimitMeaning);
        }

        ValidateDevices();
    }

    private void ValidateDevices()
    {
        var driveIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var disk in Disks)
        {
            if (!driveIds.Add(disk.Id))
            {
                throw ConfigurationException.InvalidValue(ConfigField.DriveId, $"drive '{disk.Id}' is given twice. Give each drive its own id.");
            }
        }

        var interfaceIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var network in NetworkInterfaces)
        {
            if (!interfaceIds.Add(network.Id))
            {
                throw ConfigurationException.InvalidValue(ConfigField.NetworkInterfaceId, $"interface '{network.Id}' is given twice. Give each interface its own id.");
            }
        }

        if (Vsock is { GuestCid: < VsockConfig.MinGuestCid } vsock)
        {
            throw ConfigurationException.InvalidValue(ConfigField.VsockGuestCid, $"{vsock.GuestCid} is reserved. Give a context ID of {VsockConfig.MinGuestCid} or more.");
        }

        if (Vsock is { } withPath && string.IsNullOrWhiteSpace(withPath.UdsPath))
        {
            throw ConfigurationException.InvalidValue(ConfigField.VsockUdsPath, "the socket path is empty. Give the path of the Unix socket to create.");
        }
    }

    /// <summary>Disk ids are unique and non-empty; the files themselves are checked when the images are opened.</summary>
    private void ValidateDisks()
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (int index = 0; index < Disks.Count; index++)
        {
            var disk = Disks[index];
            if (string.IsNullOrWhiteSpace(disk.Id))
            {
                throw ConfigurationException.InvalidValue($"disk {index + 1}: its id is empty. Give each disk a name.");
            }

            if (string.IsNullOrWhiteSpace(disk.Path))
            {
                throw ConfigurationException.InvalidValue($"disk '{disk.Id}': no path. Give the image file's path.");
            }

            if (!ids.Add(disk.Id))
            {
                throw ConfigurationException.InvalidValue($"disk '{disk.Id}': two disks have this id. Give each disk its own.");
            }
        }
    }

    /// <summary>Each interface is well-formed and its id is its own.</summary>
    /// <summary>Each interface's own settings; duplicate ids are <see cref="ValidateDevices"/>'s to find.</summary>
    private void ValidateNetworks()
    {
        for (int index = 0; index < NetworkInterfaces.Count; index++)
        {
            NetworkInterfaces[index].Validate(index);
        }
    }

    public const string KernelDescription = "a vmlinux, bzImage or multiboot image";

    public const string InitrdDescription = "an initramfs (cpio, optionally compressed)";

    /// <summary>What the kernel's and initrd's sizes are checked against: neither can be larger than the guest's RAM.</summary>
    public string MemoryLimitMeaning => $"the guest's {MemorySize.Format(MemoryBytes)} of memory";

    /// <summary>
    /// Throws <see cref="ConfigurationException"/> for <paramref name="field"/> unless <paramref name="path"/> is a regular
    /// file this process can read, of at most <paramref name="maxBytes"/> (<paramref name="limitMeaning"/> says why).
    /// </summary>
    public static void RequireReadableFile(string path, ConfigField field, string what, long maxBytes = long.MaxValue, string limitMeaning = "a file")
    {
        // HostFile names where a path came from in front of its message; the field goes there, for the front end to name.
        string marker = field.ToString();
        try
        {
            HostFile.Check(path, marker, what, maxBytes, limitMeaning);
        }
        catch (HostFileException exception)
        {
            string detail = exception.Message.StartsWith(marker + ": ", StringComparison.Ordinal) ? exception.Message[(marker.Length + 2)..] : exception.Message;
            throw new ConfigurationException(field, detail, exception);
        }
    }
}

namespace Vessel.Vmm.Configuration;

/// <summary>
/// The setting a <see cref="ConfigurationException"/> is about. Each front end names it in its own words: the CLI as its
/// flag (<c>--memory</c>), the API and config files as Firecracker's field (<c>mem_size_mib</c>).
/// </summary>
public enum ConfigField
{
    KernelPath,
    InitrdPath,
    CommandLine,
    Memory,
    VcpuCount,
    Cpu,
    DriveId,
    DrivePath,
    NetworkInterfaceId,
    NetworkHostDevice,
    NetworkGuestMac,
    VsockGuestCid,
    VsockUdsPath,
    TrackDirtyPages,
}

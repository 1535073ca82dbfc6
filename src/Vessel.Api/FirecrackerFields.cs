using Vessel.Vmm.Configuration;

namespace Vessel.Api;

/// <summary>The Firecracker JSON field for each configuration field, so configuration errors name what the client sent.</summary>
public static class FirecrackerFields
{
    public static string For(ConfigField field) => field switch
    {
        ConfigField.KernelPath => "kernel_image_path",
        ConfigField.InitrdPath => "initrd_path",
        ConfigField.CommandLine => "boot_args",
        ConfigField.Memory => "mem_size_mib",
        ConfigField.VcpuCount => "vcpu_count",
        ConfigField.Cpu => "cpu_template",
        ConfigField.DriveId => "drive_id",
        ConfigField.DrivePath => "path_on_host",
        ConfigField.NetworkInterfaceId => "iface_id",
        ConfigField.NetworkHostDevice => "host_dev_name",
        ConfigField.NetworkGuestMac => "guest_mac",
        ConfigField.VsockGuestCid => "guest_cid",
        ConfigField.VsockUdsPath => "uds_path",
        ConfigField.TrackDirtyPages => "track_dirty_pages",
        _ => field.ToString(),
    };
}

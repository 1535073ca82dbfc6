namespace Vessel.Devices.Firmware;

/// <summary>Selector keys of QEMU's fw_cfg (docs/specs/fw_cfg.rst, include/standard-headers/linux/qemu_fw_cfg.h).</summary>
public enum FirmwareConfigurationKey : ushort
{
    /// <summary>FW_CFG_SIGNATURE: "QEMU".</summary>
    Signature = 0x0000,

    /// <summary>FW_CFG_ID: feature bitmap, bit 0 the traditional I/O interface.</summary>
    Id = 0x0001,

    /// <summary>FW_CFG_RAM_SIZE: guest RAM in bytes, 64-bit little-endian.</summary>
    RamSize = 0x0003,

    /// <summary>FW_CFG_NB_CPUS: vCPUs present at boot, 16-bit little-endian.</summary>
    CpuCount = 0x0005,

    /// <summary>FW_CFG_MAX_CPUS: the most vCPUs the machine can have, 16-bit little-endian.</summary>
    MaxCpus = 0x000F,

    /// <summary>FW_CFG_FILE_DIR: the named-file directory (big-endian count, then 64-byte entries).</summary>
    FileDirectory = 0x0019,

    /// <summary>FW_CFG_FILE_FIRST: keys of named files start here.</summary>
    FirstFile = 0x0020,
}

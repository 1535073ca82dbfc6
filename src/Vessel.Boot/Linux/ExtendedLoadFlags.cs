namespace Vessel.Boot.Linux;

/// <summary>setup_header.xloadflags (boot.rst, field "xloadflags", protocol 2.12+).</summary>
[Flags]
public enum ExtendedLoadFlags : ushort
{
    None = 0,

    /// <summary>XLF_KERNEL_64: the kernel has the legacy 64-bit entry point at 0x200.</summary>
    Kernel64 = 1 << 0,

    /// <summary>XLF_CAN_BE_LOADED_ABOVE_4G: kernel, boot_params, command line and initrd may live above 4 GiB.</summary>
    CanBeLoadedAbove4G = 1 << 1,

    /// <summary>XLF_EFI_HANDOVER_32.</summary>
    EfiHandover32 = 1 << 2,

    /// <summary>XLF_EFI_HANDOVER_64.</summary>
    EfiHandover64 = 1 << 3,

    /// <summary>XLF_EFI_KEXEC.</summary>
    EfiKexec = 1 << 4,
}

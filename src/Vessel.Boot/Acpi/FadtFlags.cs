namespace Vessel.Boot.Acpi;

/// <summary>FADT Flags (ACPI 6.5 §5.2.9, Table 5.10), the ones Vessel sets.</summary>
[Flags]
public enum FadtFlags : uint
{
    /// <summary>WBINVD works as the spec needs for flushing caches (required of every processor since ACPI 1.0).</summary>
    WriteBackInvalidate = 1 << 0,

    /// <summary>PROC_C1: C1 (HLT) is supported on all processors.</summary>
    ProcessorC1 = 1 << 2,

    /// <summary>PWR_BUTTON: set when there is no fixed-feature power button.</summary>
    PowerButtonIsControlMethod = 1 << 4,

    /// <summary>SLP_BUTTON: set when there is no fixed-feature sleep button.</summary>
    SleepButtonIsControlMethod = 1 << 5,

    /// <summary>FIX_RTC: set when the RTC wake status is not in the fixed register space.</summary>
    NoFixedRtcWake = 1 << 6,

    /// <summary>RESET_REG_SUP: the RESET_REG field names a register that resets the machine.</summary>
    ResetRegisterSupported = 1 << 10,

    /// <summary>HW_REDUCED_ACPI; not set by Vessel, whose PC has legacy devices and fixed PM1 registers.</summary>
    HardwareReducedAcpi = 1 << 20,
}

/// <summary>IA-PC Boot Architecture Flags (ACPI 6.5 §5.2.9.3, Table 5.11).</summary>
[Flags]
public enum BootArchitectureFlags : ushort
{
    /// <summary>LEGACY_DEVICES: the machine has user-visible ISA devices (the 16550 UARTs).</summary>
    LegacyDevices = 1 << 0,

    /// <summary>8042: an i8042 keyboard controller is present at ports 0x60/0x64.</summary>
    Keyboard8042 = 1 << 1,

    /// <summary>VGA Not Present: do not probe the VGA hardware.</summary>
    VgaNotPresent = 1 << 2,
}

namespace Vessel.Devices.Power;

/// <summary>PM1 Control register bits (ACPI 6.5 §4.8.4.2.1, Table 4.13).</summary>
[Flags]
public enum PowerManagementControl : ushort
{
    /// <summary>SCI_EN: power-management events raise the SCI (the machine is in ACPI mode). Always 1 here: there is no SMI mode.</summary>
    SciEnable = 1 << 0,

    /// <summary>BM_RLD: bus-master requests take the processor out of C3.</summary>
    BusMasterReload = 1 << 1,

    /// <summary>GBL_RLS: the OS released the global lock (write-only, reads 0).</summary>
    GlobalRelease = 1 << 2,

    /// <summary>SLP_TYP, bits 12:10: the sleep state to enter when SLP_EN is written.</summary>
    SleepTypeMask = 0b111 << SleepTypeShift,

    /// <summary>SLP_EN: enter the sleep state in SLP_TYP (write-only, reads 0).</summary>
    SleepEnable = 1 << 13,

    /// <summary>The bits a write stores: BM_RLD and SLP_TYP.</summary>
    Stored = BusMasterReload | SleepTypeMask,

    SleepTypeShift = 10,
}

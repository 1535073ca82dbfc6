namespace Vessel.X86.Cpu;

/// <summary>The MSRs this CPU implements, by their architectural index (Intel SDM 4, Table 2-2). docs/cpu.md lists them.</summary>
public enum ModelSpecificRegister : uint
{
    /// <summary>IA32_TIME_STAMP_COUNTER.</summary>
    TimeStampCounter = 0x10,

    /// <summary>IA32_PLATFORM_ID: reads as zero (no microcode platform).</summary>
    PlatformId = 0x17,

    /// <summary>IA32_APIC_BASE.</summary>
    ApicBase = 0x1B,

    /// <summary>IA32_FEATURE_CONTROL: locked with nothing enabled, as firmware leaves it.</summary>
    FeatureControl = 0x3A,

    /// <summary>IA32_BIOS_SIGN_ID: the microcode revision, zero.</summary>
    BiosSignatureId = 0x8B,

    /// <summary>IA32_MTRRCAP.</summary>
    MtrrCapabilities = 0xFE,

    /// <summary>IA32_SYSENTER_CS.</summary>
    SysenterCs = 0x174,

    /// <summary>IA32_SYSENTER_ESP.</summary>
    SysenterEsp = 0x175,

    /// <summary>IA32_SYSENTER_EIP.</summary>
    SysenterEip = 0x176,

    /// <summary>IA32_MCG_CAP: no machine-check banks.</summary>
    MachineCheckCapabilities = 0x179,

    /// <summary>IA32_MCG_STATUS.</summary>
    MachineCheckStatus = 0x17A,

    /// <summary>IA32_MISC_ENABLE.</summary>
    MiscEnable = 0x1A0,

    /// <summary>IA32_MTRR_PHYSBASE0; PHYSMASKn follows each PHYSBASEn, eight pairs up to 0x20F.</summary>
    MtrrPhysicalBase0 = 0x200,

    /// <summary>IA32_MTRR_FIX64K_00000.</summary>
    MtrrFixed64K00000 = 0x250,

    /// <summary>IA32_MTRR_FIX16K_80000.</summary>
    MtrrFixed16K80000 = 0x258,

    /// <summary>IA32_MTRR_FIX16K_A0000.</summary>
    MtrrFixed16KA0000 = 0x259,

    /// <summary>IA32_MTRR_FIX4K_C0000; the eight 4K ranges run to 0x26F.</summary>
    MtrrFixed4KC0000 = 0x268,

    /// <summary>IA32_PAT.</summary>
    PageAttributeTable = 0x277,

    /// <summary>IA32_MTRR_DEF_TYPE.</summary>
    MtrrDefaultType = 0x2FF,

    /// <summary>IA32_EFER.</summary>
    Efer = 0xC000_0080,

    /// <summary>IA32_STAR: SYSCALL/SYSRET selectors.</summary>
    Star = 0xC000_0081,

    /// <summary>IA32_LSTAR: the 64-bit SYSCALL target.</summary>
    LongStar = 0xC000_0082,

    /// <summary>IA32_CSTAR: the compatibility-mode SYSCALL target (stored; Intel never uses it).</summary>
    CompatibilityStar = 0xC000_0083,

    /// <summary>IA32_FMASK: RFLAGS bits SYSCALL clears.</summary>
    SyscallFlagMask = 0xC000_0084,

    /// <summary>IA32_FS_BASE.</summary>
    FsBase = 0xC000_0100,

    /// <summary>IA32_GS_BASE.</summary>
    GsBase = 0xC000_0101,

    /// <summary>IA32_KERNEL_GS_BASE: what SWAPGS exchanges with GS.base.</summary>
    KernelGsBase = 0xC000_0102,

    /// <summary>IA32_TSC_AUX: what RDTSCP returns in ECX.</summary>
    TscAux = 0xC000_0103,

    /// <summary>PerfEvtSel0 (AMD APM 2 §13.2.1, the legacy performance counters, present on every AMD64 CPU); 0-3 follow.</summary>
    AmdPerformanceEventSelect0 = 0xC001_0000,

    /// <summary>PerfCtr0 (AMD APM 2 §13.2.1); 0-3 follow.</summary>
    AmdPerformanceCounter0 = 0xC001_0004,
}

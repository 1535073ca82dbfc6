namespace Vessel.X86.Cpu;

/// <summary>CR4 bits (Intel SDM 3A §2.5).</summary>
[Flags]
public enum ControlRegister4 : ulong
{
    Virtual8086Extensions = 1 << 0,
    ProtectedVirtualInterrupts = 1 << 1,
    TimeStampDisable = 1 << 2,
    DebuggingExtensions = 1 << 3,
    PageSizeExtensions = 1 << 4,
    PhysicalAddressExtension = 1 << 5,
    MachineCheckEnable = 1 << 6,
    PageGlobalEnable = 1 << 7,
    PerformanceCounterEnable = 1 << 8,
    OsFxsr = 1 << 9,
    OsXmmExceptions = 1 << 10,
    UserModeInstructionPrevention = 1 << 11,
    FsGsBase = 1 << 16,
    Pcid = 1 << 17,
    OsXsave = 1 << 18,
    Smep = 1 << 20,
    Smap = 1 << 21,
}

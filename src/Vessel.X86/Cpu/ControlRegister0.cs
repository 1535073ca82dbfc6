namespace Vessel.X86.Cpu;

/// <summary>CR0 bits (Intel SDM 3A §2.5).</summary>
[Flags]
public enum ControlRegister0 : ulong
{
    ProtectionEnable = 1 << 0,
    MonitorCoprocessor = 1 << 1,
    Emulation = 1 << 2,
    TaskSwitched = 1 << 3,
    ExtensionType = 1 << 4,
    NumericError = 1 << 5,
    WriteProtect = 1 << 16,
    AlignmentMask = 1 << 18,
    NotWriteThrough = 1 << 29,
    CacheDisable = 1 << 30,
    Paging = 1UL << 31,
}

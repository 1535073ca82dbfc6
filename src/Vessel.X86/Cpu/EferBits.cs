namespace Vessel.X86.Cpu;

/// <summary>IA32_EFER bits (Intel SDM 3A §2.2.1).</summary>
[Flags]
public enum EferBits : ulong
{
    None = 0,
    SystemCallEnable = 1 << 0,
    LongModeEnable = 1 << 8,
    LongModeActive = 1 << 10,
    NoExecuteEnable = 1 << 11,
}

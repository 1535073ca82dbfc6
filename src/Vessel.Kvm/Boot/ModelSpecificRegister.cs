namespace Vessel.Kvm.Boot;

/// <summary>MSR indices the boot state sets (Intel SDM 4, "Model-Specific Registers").</summary>
internal static class ModelSpecificRegister
{
    public const uint TimeStampCounter = 0x10;
    public const uint SysenterCs = 0x174;
    public const uint SysenterEsp = 0x175;
    public const uint SysenterEip = 0x176;
    public const uint MiscEnable = 0x1A0;
    public const uint MtrrDefaultType = 0x2FF;
    public const uint Star = 0xC000_0081;
    public const uint LongModeStar = 0xC000_0082;
    public const uint CompatibilityModeStar = 0xC000_0083;
    public const uint SyscallFlagMask = 0xC000_0084;
    public const uint KernelGsBase = 0xC000_0102;

    /// <summary>IA32_MISC_ENABLE bit 0: fast-string operations enabled, as firmware leaves it.</summary>
    public const ulong MiscEnableFastStrings = 1;

    /// <summary>IA32_MTRR_DEF_TYPE: MTRRs enabled (bit 11), default type write-back (6), as firmware leaves it for RAM.</summary>
    public const ulong MtrrEnabledWriteBack = (1 << 11) | 6;
}

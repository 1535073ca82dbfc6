namespace Vessel.X86.Cpu;

/// <summary>
/// Model-specific registers: storage and the checks of RDMSR/WRMSR (Intel SDM 4, Table 2-2). An index not listed in
/// <see cref="ModelSpecificRegister"/> is absent, and a value a register cannot hold is refused: both mean #GP(0).
/// </summary>
public sealed unsafe partial class Cpu
{
    /// <summary>IA32_APIC_BASE: the default xAPIC page, globally enabled (SDM 3A §11.4.4).</summary>
    private const ulong ApicBaseDefault = 0xFEE0_0000UL | ApicBaseGlobalEnable;
    private const ulong ApicBaseBootstrapProcessor = 1UL << 8;
    private const ulong ApicBaseGlobalEnable = 1UL << 11;

    /// <summary>IA32_PAT power-on value: WB, WT, UC-, UC repeated (SDM 3A §12.12.4).</summary>
    private const ulong PatDefault = 0x0007_0406_0007_0406UL;

    /// <summary>IA32_MISC_ENABLE: fast strings on; branch trace and PEBS unavailable (SDM 4, Table 2-2).</summary>
    private const ulong MiscEnableFastStrings = 1UL << 0;
    private const ulong MiscEnableDefault = MiscEnableFastStrings | (1UL << 11) | (1UL << 12);

    /// <summary>
    /// IA32_MISC_ENABLE's software-controlled bits (SDM 4, Table 2-2): fast strings (0), automatic thermal control (3),
    /// Enhanced SpeedStep (16), MONITOR FSM (18), limit CPUID maxval (22), xTPR message disable (23) and XD bit disable
    /// (34). They are stored and read back; only fast strings has a (invisible) effect here.
    /// </summary>
    private const ulong MiscEnableWritable = MiscEnableFastStrings | (1UL << 3) | (1UL << 16) | (1UL << 18) | (1UL << 22)
        | (1UL << 23) | (1UL << 34);

    /// <summary>IA32_MTRRCAP: eight variable ranges, fixed ranges and write-combining supported, no SMRR.</summary>
    private const ulong MtrrCapabilitiesValue = 8 | (1UL << 8) | (1UL << 10);
    private const int VariableMtrrPairs = 8;
    private const int FixedMtrrCount = 11;
    private const int AmdPerformanceCounterRegisters = 8;

    /// <summary>PerfCtr0-3 are 48 bits wide (AMD APM 2 §13.2.1).</summary>
    private const ulong AmdPerformanceCounterMask = (1UL << 48) - 1;

    /// <summary>IA32_FEATURE_CONTROL: bit 0 lock, nothing else enabled (no VMX, no SGX).</summary>
    private const ulong FeatureControlLocked = 1;

    private readonly ulong[] variableMtrrs = new ulong[VariableMtrrPairs * 2];
    private readonly ulong[] fixedMtrrs = new ulong[FixedMtrrCount];

    /// <summary>AMD's four legacy PerfEvtSel/PerfCtr pairs: kept so software that programs them reads back what it wrote; nothing counts.</summary>
    private readonly ulong[] amdPerformanceCounters = new ulong[AmdPerformanceCounterRegisters];
    private ulong apicBase;
    private ulong pageAttributeTable;
    private ulong miscEnable;
    private ulong mtrrDefaultType;
    private ulong machineCheckStatus;

    public ulong SysenterCs { get; private set; }

    public ulong SysenterEsp { get; private set; }

    public ulong SysenterEip { get; private set; }

    public ulong Star { get; private set; }

    public ulong LongStar { get; private set; }

    public ulong CompatibilityStar { get; private set; }

    public ulong SyscallFlagMask { get; private set; }

    public ulong KernelGsBase { get; set; }

    public ulong ApicBase => apicBase;

    /// <summary>IA32_APIC_BASE's global enable, as the APIC that owns the MSR (if any) holds it.</summary>
    public bool ApicGloballyEnabled
    {
        get
        {
            ulong value = apicBase;
            if (MsrExtension is { } owner && owner.ReadMsr((uint)ModelSpecificRegister.ApicBase, out ulong owned) == ModelSpecificRegisterAccess.Handled)
            {
                value = owned;
            }

            return (value & ApicBaseGlobalEnable) != 0;
        }
    }

    public ulong PageAttributeTable => pageAttributeTable;

    /// <summary>IA32_MISC_ENABLE's fast-string bit: REP MOVS/STOS may move whole lines (no visible effect here).</summary>
    public bool FastStringsEnabled => (miscEnable & MiscEnableFastStrings) != 0;

    /// <summary>Power-on and INIT values of the MSRs that have one (SDM 3A Table 10-1).</summary>
    private void ResetModelSpecificRegisters()
    {
        apicBase = ApicBaseDefault | (ApicId == 0 ? ApicBaseBootstrapProcessor : 0);
        pageAttributeTable = PatDefault;
        miscEnable = MiscEnableDefault;
        mtrrDefaultType = 0;
        machineCheckStatus = 0;
        Array.Clear(variableMtrrs);
        Array.Clear(fixedMtrrs);
        Array.Clear(amdPerformanceCounters);
        SysenterCs = SysenterEsp = SysenterEip = 0;
        Star = LongStar = CompatibilityStar = SyscallFlagMask = 0;
        KernelGsBase = 0;
        TscAux = 0;
    }

    /// <summary>RDMSR: false for an MSR this CPU does not have (the caller raises #GP(0)).</summary>
    public bool TryReadMsr(uint index, out ulong value)
    {
        value = 0;
        var extension = MsrExtension is { } owner ? owner.ReadMsr(index, out value) : ModelSpecificRegisterAccess.NotHandled;
        if (extension != ModelSpecificRegisterAccess.NotHandled)
        {
            return extension == ModelSpecificRegisterAccess.Handled;
        }

        value = 0;
        switch ((ModelSpecificRegister)index)
        {
            case ModelSpecificRegister.TimeStampCounter: value = TimeStampCounter; return true;
            case ModelSpecificRegister.PlatformId: return true;
            case ModelSpecificRegister.ApicBase: value = apicBase; return true;
            case ModelSpecificRegister.FeatureControl: value = FeatureControlLocked; return true;
            case ModelSpecificRegister.BiosSignatureId: return true;
            case ModelSpecificRegister.MtrrCapabilities: value = MtrrCapabilitiesValue; return true;
            case ModelSpecificRegister.SysenterCs: value = SysenterCs; return true;
            case ModelSpecificRegister.SysenterEsp: value = SysenterEsp; return true;
            case ModelSpecificRegister.SysenterEip: value = SysenterEip; return true;
            case ModelSpecificRegister.MachineCheckCapabilities: return true;
            case ModelSpecificRegister.MachineCheckStatus: value = machineCheckStatus; return true;
            case ModelSpecificRegister.MiscEnable: value = miscEnable; return true;
            case ModelSpecificRegister.PageAttributeTable: value = pageAttributeTable; return true;
            case ModelSpecificRegister.MtrrDefaultType: value = mtrrDefaultType; return true;
            case ModelSpecificRegister.Efer: value = efer; return true;
            case ModelSpecificRegister.Star: value = Star; return true;
            case ModelSpecificRegister.LongStar: value = LongStar; return true;
            case ModelSpecificRegister.CompatibilityStar: value = CompatibilityStar; return true;
            case ModelSpecificRegister.SyscallFlagMask: value = SyscallFlagMask; return true;
            case ModelSpecificRegister.FsBase: value = segments[(int)SegmentRegister.FS].Base; return true;
            case ModelSpecificRegister.GsBase: value = segments[(int)SegmentRegister.GS].Base; return true;
            case ModelSpecificRegister.KernelGsBase: value = KernelGsBase; return true;
            case ModelSpecificRegister.TscAux: value = TscAux; return true;
        }

        if (TryMtrrSlot(index, out bool variable, out int slot))
        {
            value = variable ? variableMtrrs[slot] : fixedMtrrs[slot];
            return true;
        }

        if (IsAmdPerformanceCounter(index, out int counter))
        {
            value = amdPerformanceCounters[counter];
            return true;
        }

        return false;
    }

    /// <summary>WRMSR: false for an absent MSR or a value with reserved bits set (the caller raises #GP(0)).</summary>
    public bool TryWriteMsr(uint index, ulong value)
    {
        var extension = MsrExtension?.WriteMsr(index, value) ?? ModelSpecificRegisterAccess.NotHandled;
        if (extension != ModelSpecificRegisterAccess.NotHandled)
        {
            return extension == ModelSpecificRegisterAccess.Handled;
        }

        switch ((ModelSpecificRegister)index)
        {
            case ModelSpecificRegister.TimeStampCounter:
                TimeStampCounter = value;
                return true;
            case ModelSpecificRegister.ApicBase:
                return TryWriteApicBase(value);
            case ModelSpecificRegister.BiosSignatureId:
                // Linux writes zero before CPUID to have the microcode revision latched; there is none to latch.
                return true;
            case ModelSpecificRegister.SysenterCs:
                SysenterCs = value & 0xFFFF;
                return true;
            case ModelSpecificRegister.SysenterEsp:
                if (!IsCanonical(value))
                {
                    return false;
                }

                SysenterEsp = value;
                return true;
            case ModelSpecificRegister.SysenterEip:
                if (!IsCanonical(value))
                {
                    return false;
                }

                SysenterEip = value;
                return true;
            case ModelSpecificRegister.MachineCheckStatus:
                // Only zero may be written while no machine check is in progress (SDM 3B §16.3.1.2).
                if (value != 0)
                {
                    return false;
                }

                machineCheckStatus = 0;
                return true;
            case ModelSpecificRegister.MiscEnable:
                // Read-only and model-dependent bits keep their values rather than fault: which bits are reserved
                // differs across Intel families, and KVM accepts any value, so a guest tuned for one family still boots.
                miscEnable = (miscEnable & ~MiscEnableWritable) | (value & MiscEnableWritable);
                return true;
            case ModelSpecificRegister.PageAttributeTable:
                if (!IsValidPat(value))
                {
                    return false;
                }

                pageAttributeTable = value;
                return true;
            case ModelSpecificRegister.MtrrDefaultType:
                // Bits 0-7 type, 10 fixed-range enable, 11 enable; the rest reserved (SDM 3A §12.11.2.1).
                if ((value & ~0xCFFUL) != 0 || !IsValidMtrrType((byte)value))
                {
                    return false;
                }

                mtrrDefaultType = value;
                return true;
            case ModelSpecificRegister.Efer:
                return TryWriteEfer(value);
            case ModelSpecificRegister.Star:
                Star = value;
                return true;
            case ModelSpecificRegister.LongStar:
                if (!IsCanonical(value))
                {
                    return false;
                }

                LongStar = value;
                return true;
            case ModelSpecificRegister.CompatibilityStar:
                if (!IsCanonical(value))
                {
                    return false;
                }

                CompatibilityStar = value;
                return true;
            case ModelSpecificRegister.SyscallFlagMask:
                // Bits 63:32 are reserved on Intel.
                if ((value >> 32) != 0)
                {
                    return false;
                }

                SyscallFlagMask = value;
                return true;
            case ModelSpecificRegister.FsBase:
                if (!IsCanonical(value))
                {
                    return false;
                }

                SetSegmentBase(SegmentRegister.FS, value);
                return true;
            case ModelSpecificRegister.GsBase:
                if (!IsCanonical(value))
                {
                    return false;
                }

                SetSegmentBase(SegmentRegister.GS, value);
                return true;
            case ModelSpecificRegister.KernelGsBase:
                if (!IsCanonical(value))
                {
                    return false;
                }

                KernelGsBase = value;
                return true;
            case ModelSpecificRegister.TscAux:
                if ((value >> 32) != 0)
                {
                    return false;
                }

                TscAux = value;
                return true;
        }

        if (TryMtrrSlot(index, out bool variable, out int slot))
        {
            return variable ? TryWriteVariableMtrr(slot, value) : TryWriteFixedMtrr(slot, value);
        }

        if (IsAmdPerformanceCounter(index, out int counter))
        {
            amdPerformanceCounters[counter] = counter >= 4 ? value & AmdPerformanceCounterMask : value;
            return true;
        }

        // PLATFORM_ID, FEATURE_CONTROL (locked), MTRRCAP and MCG_CAP are read-only.
        return false;
    }

    /// <summary>RDPMC's counter <paramref name="index"/>: AMD's PerfCtr0-3 on AMD models (48 bits wide); nothing on Intel ones.</summary>
    public bool TryReadPerformanceCounter(uint index, out ulong value)
    {
        const int firstCounterRegister = 4;
        if (Cpuid.IsAmd && index < AmdPerformanceCounterRegisters - firstCounterRegister)
        {
            value = amdPerformanceCounters[firstCounterRegister + (int)index];
            return true;
        }

        value = 0;
        return false;
    }

    /// <summary>Whether <paramref name="index"/> is one of AMD's legacy PerfEvtSel0-3/PerfCtr0-3 on an AMD model (absent on Intel: #GP).</summary>
    private bool IsAmdPerformanceCounter(uint index, out int counter)
    {
        counter = (int)(index - (uint)ModelSpecificRegister.AmdPerformanceEventSelect0);
        return Cpuid.IsAmd && (uint)counter < AmdPerformanceCounterRegisters;
    }

    private bool TryWriteApicBase(ulong value)
    {
        // Writable: the enable bit and the base below MAXPHYADDR. x2APIC (bit 10) is not offered: setting it is #GP.
        const ulong basePage = ((1UL << PhysicalAddressBits) - 1) & ~0xFFFUL;
        if ((value & ~(basePage | ApicBaseGlobalEnable | ApicBaseBootstrapProcessor)) != 0)
        {
            return false;
        }

        apicBase = (value & (basePage | ApicBaseGlobalEnable)) | (apicBase & ApicBaseBootstrapProcessor);
        return true;
    }

    /// <summary>Memory types valid in PAT entries: UC, WC, WT, WP, WB, UC- (SDM 3A Table 12-10).</summary>
    private static bool IsValidPat(ulong value)
    {
        for (int i = 0; i < 8; i++)
        {
            byte type = (byte)(value >> (i * 8));
            if (type is not (0 or 1 or 4 or 5 or 6 or 7))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Memory types valid in MTRRs: UC, WC, WT, WP, WB (SDM 3A Table 12-8).</summary>
    private static bool IsValidMtrrType(byte type) => type is 0 or 1 or 4 or 5 or 6;

    private static bool TryMtrrSlot(uint index, out bool variable, out int slot)
    {
        variable = false;
        slot = 0;
        if (index >= (uint)ModelSpecificRegister.MtrrPhysicalBase0 && index < (uint)ModelSpecificRegister.MtrrPhysicalBase0 + (VariableMtrrPairs * 2))
        {
            variable = true;
            slot = (int)(index - (uint)ModelSpecificRegister.MtrrPhysicalBase0);
            return true;
        }

        switch ((ModelSpecificRegister)index)
        {
            case ModelSpecificRegister.MtrrFixed64K00000: slot = 0; return true;
            case ModelSpecificRegister.MtrrFixed16K80000: slot = 1; return true;
            case ModelSpecificRegister.MtrrFixed16KA0000: slot = 2; return true;
        }

        if (index >= (uint)ModelSpecificRegister.MtrrFixed4KC0000 && index < (uint)ModelSpecificRegister.MtrrFixed4KC0000 + 8)
        {
            slot = 3 + (int)(index - (uint)ModelSpecificRegister.MtrrFixed4KC0000);
            return true;
        }

        return false;
    }

    /// <summary>PHYSBASEn: type in bits 0-7, base from bit 12; PHYSMASKn: valid bit 11, mask from bit 12 (SDM 3A §12.11.2.3).</summary>
    private bool TryWriteVariableMtrr(int slot, ulong value)
    {
        const ulong addressBits = ((1UL << PhysicalAddressBits) - 1) & ~0xFFFUL;
        bool isMask = (slot & 1) != 0;
        ulong allowed = addressBits | (isMask ? 1UL << 11 : 0xFFUL);
        if ((value & ~allowed) != 0 || (!isMask && !IsValidMtrrType((byte)value)))
        {
            return false;
        }

        variableMtrrs[slot] = value;
        return true;
    }

    private bool TryWriteFixedMtrr(int slot, ulong value)
    {
        for (int i = 0; i < 8; i++)
        {
            if (!IsValidMtrrType((byte)(value >> (i * 8))))
            {
                return false;
            }
        }

        fixedMtrrs[slot] = value;
        return true;
    }
}

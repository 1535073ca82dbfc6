namespace Vessel.Core.Accel.State;

/// <summary>
/// The MSRs a vCPU section lists beyond the fields <see cref="VcpuState"/> has for EFER, the TSC, FS/GS base and the
/// APIC's own: the SYSENTER and SYSCALL targets, KERNEL_GS_BASE, TSC_AUX, PAT, MISC_ENABLE and the MTRRs (SDM 4
/// Table 2-2). Both accelerators save these indices, so each restores the other's list; KVM adds its paravirtual
/// clock MSRs where the guest enabled them, which the software CPU refuses when they hold a value.
/// </summary>
public static class SavedModelSpecificRegisters
{
    public const uint SysenterCs = 0x174;
    public const uint SysenterEsp = 0x175;
    public const uint SysenterEip = 0x176;
    public const uint MiscEnable = 0x1A0;
    public const uint MtrrPhysicalBase0 = 0x200;
    public const uint MtrrFixed64K00000 = 0x250;
    public const uint MtrrFixed16K80000 = 0x258;
    public const uint MtrrFixed16KA0000 = 0x259;
    public const uint MtrrFixed4KC0000 = 0x268;
    public const uint PageAttributeTable = 0x277;
    public const uint MtrrDefaultType = 0x2FF;
    public const uint Star = 0xC000_0081;
    public const uint LongStar = 0xC000_0082;
    public const uint CompatibilityStar = 0xC000_0083;
    public const uint SyscallFlagMask = 0xC000_0084;
    public const uint KernelGsBase = 0xC000_0102;
    public const uint TscAux = 0xC000_0103;

    /// <summary>IA32_TIME_STAMP_COUNTER, carried in <see cref="VcpuState.TimeStampCounter"/>.</summary>
    public const uint TimeStampCounter = 0x10;

    /// <summary>IA32_TSC_DEADLINE, carried in <see cref="LocalApicState.TscDeadline"/>.</summary>
    public const uint TscDeadline = 0x6E0;

    /// <summary>KVM's paravirtual MSRs (Documentation/virt/kvm/x86/msr.rst): kvmclock old and new, async PF, steal time, PV EOI, poll control.</summary>
    public static readonly uint[] KvmParavirtual = [0x11, 0x12, 0x4B56_4D00, 0x4B56_4D01, 0x4B56_4D02, 0x4B56_4D03, 0x4B56_4D04, 0x4B56_4D05];

    /// <summary>
    /// The value a KVM paravirtual MSR has until the guest uses it: 0 (disabled), except MSR_KVM_POLL_CONTROL, which KVM
    /// resets to 1 (host halt polling allowed). A CPU without the MSR can drop it at this value without the guest noticing.
    /// </summary>
    public static ulong KvmParavirtualResetValue(uint index) => index == 0x4B56_4D05 ? 1UL : 0UL;

    /// <summary>In the order a restore writes them (MTRRs before PAT, as firmware would).</summary>
    public static readonly uint[] Architectural = Build();

    private static uint[] Build()
    {
        var list = new List<uint> { SysenterCs, SysenterEsp, SysenterEip, MiscEnable };
        for (uint i = 0; i < 16; i++)
        {
            list.Add(MtrrPhysicalBase0 + i);
        }

        list.AddRange([MtrrFixed64K00000, MtrrFixed16K80000, MtrrFixed16KA0000]);
        for (uint i = 0; i < 8; i++)
        {
            list.Add(MtrrFixed4KC0000 + i);
        }

        list.AddRange([PageAttributeTable, MtrrDefaultType, Star, LongStar, CompatibilityStar, SyscallFlagMask, KernelGsBase, TscAux]);
        return [.. list];
    }
}

using Vessel.Core.Accel;

namespace Vessel.X86.Cpu;

public sealed unsafe partial class Cpu
{
    private ulong cr0;
    private ulong cr3;
    private ulong cr4;
    private ulong efer;

    public ulong Cr0 => cr0;

    public ulong Cr3 => cr3;

    public ulong Cr4 => cr4;

    private ulong taskPriorityWithoutApic;

    /// <summary>CR8: the local APIC's TPR[7:4] (SDM 3A §11.8.6.1); kept here only for a CPU without an interrupt controller.</summary>
    public ulong Cr8
    {
        get => InterruptController is { } apic ? apic.TaskPriority >> 4 : taskPriorityWithoutApic;
        set
        {
            if (InterruptController is { } apic)
            {
                apic.TaskPriority = (uint)(value & 0xF) << 4;
            }
            else
            {
                taskPriorityWithoutApic = value & 0xF;
            }
        }
    }

    public EferBits Efer => (EferBits)efer;

    public DescriptorTableState Gdtr { get; set; }

    public DescriptorTableState Idtr { get; set; }

    public SegmentState Ldtr { get; set; }

    public SegmentState Tr { get; set; }

    public bool ProtectedMode => (cr0 & (ulong)ControlRegister0.ProtectionEnable) != 0;

    public bool PagingEnabled => (cr0 & (ulong)ControlRegister0.Paging) != 0;

    private const ulong Cr0Reserved = 0xFFFF_FFFF_0000_0000UL | 0x1FFA_FFC0UL;
    private const ulong Cr4Supported = (ulong)(ControlRegister4.Virtual8086Extensions | ControlRegister4.ProtectedVirtualInterrupts
        | ControlRegister4.TimeStampDisable | ControlRegister4.DebuggingExtensions | ControlRegister4.PageSizeExtensions
        | ControlRegister4.PhysicalAddressExtension | ControlRegister4.MachineCheckEnable | ControlRegister4.PageGlobalEnable
        | ControlRegister4.PerformanceCounterEnable | ControlRegister4.OsFxsr | ControlRegister4.OsXmmExceptions
        | ControlRegister4.UserModeInstructionPrevention);

    /// <summary>MOV to CR0 with the checks of Intel SDM 3A §2.5 and §9.8.5; false means #GP(0).</summary>
    public bool TryWriteCr0(ulong value)
    {
        value |= (ulong)ControlRegister0.ExtensionType;
        if ((value & Cr0Reserved) != 0)
        {
            return false;
        }

        bool paging = (value & (ulong)ControlRegister0.Paging) != 0;
        bool protection = (value & (ulong)ControlRegister0.ProtectionEnable) != 0;
        if (paging && !protection)
        {
            return false;
        }

        if ((value & (ulong)ControlRegister0.NotWriteThrough) != 0 && (value & (ulong)ControlRegister0.CacheDisable) == 0)
        {
            return false;
        }

        bool wasPaging = PagingEnabled;
        if (!paging && wasPaging && CodeBits == 64)
        {
            // Long mode is left from compatibility mode only: clearing PG in 64-bit code is #GP(0) (SDM 3A §9.8.5.4).
            return false;
        }

        if (paging && !wasPaging && (efer & (ulong)EferBits.LongModeEnable) != 0)
        {
            // Activating long mode requires PAE and a CS that is not a 64-bit segment yet (SDM 3A §9.8.5).
            if ((cr4 & (ulong)ControlRegister4.PhysicalAddressExtension) == 0)
            {
                return false;
            }

            efer |= (ulong)EferBits.LongModeActive;
        }
        else if (!paging && wasPaging && LongMode)
        {
            efer &= ~(ulong)EferBits.LongModeActive;
        }

        cr0 = value;
        OnPagingModeChanged();
        return true;
    }

    public bool TryWriteCr3(ulong value)
    {
        if (LongMode && (value >> PhysicalAddressBits) != 0)
        {
            return false;
        }

        cr3 = value;
        FlushTlb(includeGlobal: false);
        return true;
    }

    public bool TryWriteCr4(ulong value)
    {
        if ((value & ~Cr4Supported) != 0)
        {
            return false;
        }

        if (LongMode && (value & (ulong)ControlRegister4.PhysicalAddressExtension) == 0)
        {
            return false;
        }

        cr4 = value;
        OnPagingModeChanged();

        // CR4.DE decides whether R/W=10 breakpoints watch I/O ports.
        UpdateBreakpoints();
        return true;
    }

    /// <summary>WRMSR to IA32_EFER: LMA is read-only, LME cannot change while paging is on (SDM 3A §9.8.5).</summary>
    public bool TryWriteEfer(ulong value)
    {
        const ulong writable = (ulong)(EferBits.SystemCallEnable | EferBits.LongModeEnable | EferBits.NoExecuteEnable);
        if ((value & ~(writable | (ulong)EferBits.LongModeActive)) != 0)
        {
            return false;
        }

        if (PagingEnabled && ((value ^ efer) & (ulong)EferBits.LongModeEnable) != 0)
        {
            return false;
        }

        efer = (value & writable) | (efer & (ulong)EferBits.LongModeActive);
        OnPagingModeChanged();
        return true;
    }

    private void OnPagingModeChanged()
    {
        FlushTlb(includeGlobal: true);
        var cs = segments[(int)SegmentRegister.CS];
        bool longCode = (cs.Attributes & SegmentAttributes.Long) != 0 && LongMode;
        CodeBits = longCode ? 64 : (cs.Attributes & SegmentAttributes.DefaultBig) != 0 ? 32 : 16;
        UpdateSegmentAccess();
        StopBlock();
    }
}

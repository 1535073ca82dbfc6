namespace Vessel.Core.Accel.State;

/// <summary>
/// Everything a vCPU holds, in a layout neither accelerator owns: what <see cref="IVcpu.GetState"/> returns and
/// <see cref="IVcpu.SetState"/> loads, so a vCPU saved on the software CPU restores on KVM and back. Values follow the
/// architecture (Intel SDM 3A), not either implementation: segment caches as loaded, RFLAGS with its arithmetic flags
/// materialised, the x87/SSE file as an FXSAVE image.
/// </summary>
public sealed class VcpuState
{
    /// <summary>RAX..R15 in ModRM order (RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8..R15).</summary>
    public const int GeneralRegisterCount = 16;

    public ulong[] GeneralRegisters { get; init; } = new ulong[GeneralRegisterCount];

    public ulong Rip { get; set; }

    public ulong Rflags { get; set; } = 0x2;

    public SegmentState Es { get; set; }

    public SegmentState Cs { get; set; }

    public SegmentState Ss { get; set; }

    public SegmentState Ds { get; set; }

    public SegmentState Fs { get; set; }

    public SegmentState Gs { get; set; }

    public SegmentState Ldtr { get; set; }

    public SegmentState Tr { get; set; }

    public DescriptorTableState Gdtr { get; set; }

    public DescriptorTableState Idtr { get; set; }

    public ulong Cr0 { get; set; }

    public ulong Cr2 { get; set; }

    public ulong Cr3 { get; set; }

    public ulong Cr4 { get; set; }

    /// <summary>CR8, the task priority (TPR[7:4]); the local APIC's TPR in <see cref="LocalApic"/> wins where both are set.</summary>
    public ulong Cr8 { get; set; }

    public ulong Efer { get; set; }

    /// <summary>DR0-DR3, DR6, DR7 (DR4/DR5 alias DR6/DR7).</summary>
    public DebugRegisterState DebugRegisters { get; set; } = DebugRegisterState.PowerOn;

    /// <summary>The MSRs that carry guest state beyond the fields above (SYSENTER, SYSCALL, KERNEL_GS_BASE, PAT, MTRRs, ...), in index order.</summary>
    public IReadOnlyList<ModelSpecificRegisterValue> ModelSpecificRegisters { get; set; } = [];

    /// <summary>The x87/MMX/SSE file as the 64-bit FXSAVE instruction writes it (SDM 2 FXSAVE, Table 3-56), 512 bytes.</summary>
    public byte[] Fxsave { get; set; } = FxsaveLayout.Initial();

    /// <summary>XCR0; 1 (x87 only) when the CPU offers no XSAVE.</summary>
    public ulong Xcr0 { get; set; } = 1;

    /// <summary>The XSAVE area (standard format, 4 KiB as KVM_GET_XSAVE returns it), or empty where the accelerator has none.</summary>
    public byte[] XsaveArea { get; set; } = [];

    /// <summary>IA32_TIME_STAMP_COUNTER at the moment of the save.</summary>
    public ulong TimeStampCounter { get; set; }

    public LocalApicState LocalApic { get; set; } = new();

    public VcpuEventState Events { get; set; } = new();

    public VcpuMpState MpState { get; set; } = VcpuMpState.Runnable;
}

/// <summary>One MSR as RDMSR reads it.</summary>
public readonly record struct ModelSpecificRegisterValue(uint Index, ulong Value);

/// <summary>DR0-DR3, DR6 and DR7.</summary>
public readonly record struct DebugRegisterState(ulong Dr0, ulong Dr1, ulong Dr2, ulong Dr3, ulong Dr6, ulong Dr7)
{
    /// <summary>DR6 = 0xFFFF0FF0 and DR7 = 0x400 after reset (SDM 3A §9.1.1).</summary>
    public static DebugRegisterState PowerOn => new(0, 0, 0, 0, 0xFFFF_0FF0, 0x400);
}

/// <summary>MP state (KVM's kvm_mp_state, SDM 3A §9.4): whether the vCPU runs, sleeps in HLT, or waits for INIT/SIPI.</summary>
public enum VcpuMpState
{
    Runnable = 0,

    /// <summary>An application processor in wait-for-SIPI (KVM_MP_STATE_UNINITIALIZED / INIT_RECEIVED).</summary>
    WaitingForStartup = 1,

    /// <summary>Stopped in HLT until an interrupt.</summary>
    Halted = 2,
}

/// <summary>
/// Events in flight (KVM's kvm_vcpu_events): an exception raised but not yet delivered, an interrupt or NMI being
/// injected, NMI blocking, and the interrupt shadow of STI / MOV SS.
/// </summary>
public sealed record VcpuEventState
{
    /// <summary>An exception raised by the instruction that stopped, not delivered yet; null when none.</summary>
    public PendingException? Exception { get; init; }

    /// <summary>An external interrupt vector acknowledged from the controller but not yet delivered; null when none.</summary>
    public byte? InjectedInterrupt { get; init; }

    /// <summary>NMIs waiting for delivery (0, 1 or 2: one may be latched while another is blocked).</summary>
    public int PendingNmis { get; init; }

    /// <summary>NMIs are blocked: the handler of an earlier one has not executed IRET (SDM 3A §6.7.1).</summary>
    public bool NmiMasked { get; init; }

    public InterruptShadow Shadow { get; init; }

    /// <summary>The vector of a STARTUP IPI received and not yet acted on.</summary>
    public byte SipiVector { get; init; }
}

/// <summary>An exception to deliver on the next entry.</summary>
public readonly record struct PendingException(byte Vector, bool HasErrorCode, uint ErrorCode);

/// <summary>The one-instruction interrupt shadow (SDM 3A §6.8.3), as KVM's KVM_X86_SHADOW_INT_* bits.</summary>
[Flags]
public enum InterruptShadow : byte
{
    None = 0,
    AfterStackLoad = 1,
    AfterSti = 2,
}

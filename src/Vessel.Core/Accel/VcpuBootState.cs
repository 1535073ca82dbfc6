namespace Vessel.Core.Accel;

/// <summary>
/// The architectural register state a boot loader wants a vCPU to start in, independent of accelerator.
/// The software CPU loads it directly; KVM maps it onto kvm_regs/kvm_sregs/MSRs.
/// </summary>
public sealed class VcpuBootState
{
    public ulong Rax { get; set; }

    public ulong Rbx { get; set; }

    public ulong Rcx { get; set; }

    public ulong Rdx { get; set; }

    public ulong Rsi { get; set; }

    public ulong Rdi { get; set; }

    public ulong Rsp { get; set; }

    public ulong Rbp { get; set; }

    public ulong Rip { get; set; }

    /// <summary>RFLAGS; bit 1 is always set.</summary>
    public ulong Rflags { get; set; } = 0x2;

    public ulong Cr0 { get; set; }

    public ulong Cr3 { get; set; }

    public ulong Cr4 { get; set; }

    public ulong Efer { get; set; }

    public SegmentState Cs { get; set; }

    public SegmentState Ds { get; set; }

    public SegmentState Es { get; set; }

    public SegmentState Fs { get; set; }

    public SegmentState Gs { get; set; }

    public SegmentState Ss { get; set; }

    public SegmentState Tr { get; set; }

    public SegmentState Ldtr { get; set; }

    public DescriptorTableState Gdt { get; set; }

    public DescriptorTableState Idt { get; set; }

    /// <summary>Whether this vCPU starts running (the bootstrap processor) or waits for INIT/SIPI (an application processor).</summary>
    public bool WaitForStartup { get; set; }

    /// <summary>The state every x86 CPU has after RESET (Intel SDM 3A §9.1.1): real mode, CS:IP = F000:FFF0.</summary>
    public static VcpuBootState PowerOnReset() => new()
    {
        Rip = 0xFFF0,
        Cr0 = 0x6000_0010,
        Cs = new SegmentState(0xF000, 0xFFFF_0000, 0xFFFF, SegmentAttributes.Present | SegmentAttributes.CodeOrData | SegmentAttributes.Executable | SegmentAttributes.ReadableOrWritable | SegmentAttributes.Accessed),
        Ds = SegmentState.RealMode(0),
        Es = SegmentState.RealMode(0),
        Fs = SegmentState.RealMode(0),
        Gs = SegmentState.RealMode(0),
        Ss = SegmentState.RealMode(0),
        Tr = new SegmentState(0, 0, 0xFFFF, SegmentAttributes.Present | (SegmentAttributes)11),
        Ldtr = new SegmentState(0, 0, 0xFFFF, SegmentAttributes.Present | (SegmentAttributes)2),
        Gdt = new DescriptorTableState(0, 0xFFFF),
        Idt = new DescriptorTableState(0, 0xFFFF),
    };
}

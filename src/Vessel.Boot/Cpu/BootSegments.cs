using Vessel.Core.Accel;

namespace Vessel.Boot.Cpu;

/// <summary>The segment registers and GDTR that match the GDT <see cref="BootGdt"/> wrote.</summary>
public readonly record struct BootSegments(SegmentState Code, SegmentState Data, SegmentState Tss, SegmentState Ldt, DescriptorTableState Gdt)
{
    /// <summary>Fills CS, DS, ES, FS, GS, SS, TR, LDTR and GDTR of <paramref name="state"/>; IDTR gets limit 0, so any exception before the kernel loads its own IDT triple-faults instead of jumping into garbage (Firecracker's 8-byte zero IDT has the same effect).</summary>
    public void ApplyTo(VcpuBootState state)
    {
        state.Cs = Code;
        state.Ds = Data;
        state.Es = Data;
        state.Fs = Data;
        state.Gs = Data;
        state.Ss = Data;
        state.Tr = Tss;
        state.Ldtr = Ldt;
        state.Gdt = Gdt;
        state.Idt = new DescriptorTableState(0, 0);
    }
}

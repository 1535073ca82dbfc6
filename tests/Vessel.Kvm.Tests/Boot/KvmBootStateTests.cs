using Vessel.Core.Accel;
using Vessel.Kvm.Boot;
using Vessel.Kvm.Interop;

namespace Vessel.Kvm.Tests.Boot;

public sealed class KvmBootStateTests
{
    [Fact]
    public void Flat_64_bit_code_segment_unpacks_into_kvm_segment_bytes()
    {
        KvmSegment segment = KvmBootState.ToSegment(SegmentState.FlatCode64(0x10));

        Assert.Equal((ushort)0x10, segment.Selector);
        Assert.Equal(0xFFFF_FFFFu, segment.Limit);
        Assert.Equal((byte)0xB, segment.Type);
        Assert.Equal((1, 1, 0, 1, 0, 1, 0), (segment.Present, segment.S, segment.Dpl, segment.L, segment.Db, segment.G, segment.Unusable));
    }

    [Fact]
    public void Flat_32_bit_code_segment_sets_default_size_not_long()
    {
        KvmSegment segment = KvmBootState.ToSegment(SegmentState.FlatCode32(0x08));

        Assert.Equal((0, 1, 1), (segment.L, segment.Db, segment.G));
    }

    [Fact]
    public void Not_present_segment_is_marked_unusable()
    {
        KvmSegment segment = KvmBootState.ToSegment(default);

        Assert.Equal((0, 1), (segment.Present, segment.Unusable));
    }

    [Fact]
    public void Sregs_take_control_registers_and_tables_but_keep_the_apic_base()
    {
        var state = new VcpuBootState
        {
            Cr0 = 0x8000_0011,
            Cr3 = 0x9000,
            Cr4 = 0x20,
            Efer = 0x500,
            Cs = SegmentState.FlatCode64(0x08),
            Ds = SegmentState.FlatData(0x10),
            Ss = SegmentState.FlatData(0x10),
            Tr = SegmentState.BusyTss(0x18, 0x1000, 0x67),
            Gdt = new DescriptorTableState(0x500, 0x1F),
            Idt = new DescriptorTableState(0, 0),
        };
        var sregs = new KvmSregs { ApicBase = 0xFEE0_0900, Cr2 = 0x1234 };

        KvmBootState.ApplyToSregs(state, ref sregs);

        Assert.Equal((0x8000_0011UL, 0x9000UL, 0x20UL, 0x500UL, 0UL), (sregs.Cr0, sregs.Cr3, sregs.Cr4, sregs.Efer, sregs.Cr2));
        Assert.Equal(0xFEE0_0900UL, sregs.ApicBase);
        Assert.Equal((0x500UL, (ushort)0x1F), (sregs.Gdt.Base, sregs.Gdt.Limit));
        Assert.Equal((byte)11, sregs.Tr.Type);
        Assert.Equal(0x1000UL, sregs.Tr.Base);
        Assert.Equal((byte)1, sregs.Ldt.Unusable);
    }

    [Fact]
    public void Empty_task_register_becomes_a_usable_busy_tss_for_vm_entry()
    {
        var sregs = default(KvmSregs);

        KvmBootState.ApplyToSregs(new VcpuBootState(), ref sregs);

        Assert.Equal(((byte)11, (byte)1, (byte)0), (sregs.Tr.Type, sregs.Tr.Present, sregs.Tr.Unusable));
    }

    [Fact]
    public void Multiboot_entry_registers_carry_the_magic_in_eax()
    {
        KvmRegs regs = KvmBootState.ToRegs(new VcpuBootState { Rax = 0x2BAD_B002, Rbx = 0x9500, Rip = 0x10_0000, Rflags = 0 });

        Assert.Equal((0x2BAD_B002UL, 0x9500UL, 0x10_0000UL), (regs.Rax, regs.Rbx, regs.Rip));
        Assert.Equal(0x2UL, regs.Rflags);
    }

    [Fact]
    public void Fpu_and_msrs_start_as_firmware_leaves_them()
    {
        KvmFpu fpu = KvmBootState.InitialFpu();
        KvmMsrEntry[] msrs = KvmBootState.InitialMsrs();

        Assert.Equal(((ushort)0x37F, 0x1F80u), (fpu.Fcw, fpu.Mxcsr));
        Assert.Contains(msrs, m => m.Index == ModelSpecificRegister.MtrrDefaultType && m.Data == 0x806);
        Assert.Contains(msrs, m => m.Index == ModelSpecificRegister.MiscEnable && m.Data == 1);
        Assert.Equal(msrs.Length, msrs.Select(m => m.Index).Distinct().Count());
    }
}

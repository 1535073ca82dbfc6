using Iced.Intel;
using Vessel.Core.Accel;
using Vessel.Core.Memory;
using Vessel.X86.Cpu;
using Vessel.X86.Tests.Guests;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests.Execution;

/// <summary>The BCD adjustments exist outside 64-bit mode only: these guests run flat 32-bit protected-mode code.</summary>
public class DecimalArithmeticTests
{
    private const ulong Code32Address = 0x30_0000;

    private const ulong DivideErrorHandler = 0x30_1000;

    private static LongModeGuest Run32(Action<Assembler> program)
    {
        var guest = new LongModeGuest(a => a.hlt());

        // A 32-bit interrupt gate for #DE; the handler's bytes (mov al, 0xDE; out 0xF4, al; hlt) mean the same in
        // 16- and 32-bit code, so the GDT's code segment may be either.
        guest.Memory.Write(new GuestAddress(LongModeGuest.IdtAddress), (DivideErrorHandler & 0xFFFF) | ((ulong)LongModeGuest.KernelCode << 16)
            | (0x8EUL << 40) | ((DivideErrorHandler >> 16) << 48));
        guest.Memory.WriteBytes(new GuestAddress(DivideErrorHandler), [0xB0, 0xDE, 0xE6, 0xF4, 0xF4]);
        var assembler = new Assembler(32);
        program(assembler);
        assembler.@out(0xF4, al);
        assembler.hlt();
        var stream = new MemoryStream();
        assembler.Assemble(new StreamCodeWriter(stream), Code32Address);
        guest.Memory.WriteBytes(new GuestAddress(Code32Address), stream.ToArray());
        guest.Vcpu.SetBootState(new VcpuBootState
        {
            Rip = Code32Address,
            Rsp = LongModeGuest.StackTop,
            Rflags = 0x2,
            Cr0 = (ulong)(ControlRegister0.ProtectionEnable | ControlRegister0.ExtensionType),
            Cs = SegmentState.FlatCode32(LongModeGuest.KernelCode),
            Ds = SegmentState.FlatData(LongModeGuest.KernelData),
            Es = SegmentState.FlatData(LongModeGuest.KernelData),
            Fs = SegmentState.FlatData(LongModeGuest.KernelData),
            Gs = SegmentState.FlatData(LongModeGuest.KernelData),
            Ss = SegmentState.FlatData(LongModeGuest.KernelData),
            Tr = SegmentState.BusyTss(LongModeGuest.TssSelector, LongModeGuest.TssAddress, 0x67),
            Gdt = new DescriptorTableState(LongModeGuest.GdtAddress, 0x37),
            Idt = new DescriptorTableState(LongModeGuest.IdtAddress, 0xFFF),
        });
        guest.Run();
        return guest;
    }

    /// <summary>Intel SDM 2 DAA/DAS examples: 79 + 35 = 114 and 35 - 47 = -12 (88 with a borrow).</summary>
    [Fact]
    public void Daa_and_das_adjust_packed_bcd_sums_and_differences()
    {
        using var guest = Run32(a =>
        {
            a.mov(al, 0x79);
            a.add(al, 0x35);
            a.daa();
            a.setc(bl);
            a.mov(esi, eax);
            a.mov(al, 0x35);
            a.sub(al, 0x47);
            a.das();
            a.setc(bh);
            a.mov(edi, eax);
        });

        Assert.NotNull(guest.Io.ExitValue);
        Assert.Equal(0x14UL, guest.Cpu.Registers.Rsi & 0xFF);
        Assert.Equal(0x88UL, guest.Cpu.Registers.Rdi & 0xFF);
        Assert.Equal(0x0101UL, guest.Cpu.Registers.Rbx & 0xFFFF);
    }

    [Fact]
    public void Aaa_aas_aam_and_aad_adjust_unpacked_bcd()
    {
        using var guest = Run32(a =>
        {
            a.mov(ax, 0x0009);
            a.add(al, 8);
            a.aaa();
            a.mov(esi, eax);
            a.mov(ax, 0x0103);
            a.sub(al, 5);
            a.aas();
            a.mov(edi, eax);
            a.mov(ax, 63);
            a.aam(10);
            a.mov(ebx, eax);
            a.aad(10);
            a.mov(ebp, eax);
        });

        Assert.NotNull(guest.Io.ExitValue);
        Assert.Equal(0x0107UL, guest.Cpu.Registers.Rsi & 0xFFFF);
        Assert.Equal(0x0008UL, guest.Cpu.Registers.Rdi & 0xFFFF);
        Assert.Equal(0x0603UL, guest.Cpu.Registers.Rbx & 0xFFFF);
        Assert.Equal(0x003FUL, guest.Cpu.Registers.Rbp & 0xFFFF);
    }

    [Fact]
    public void Aam_with_a_zero_base_raises_divide_error()
    {
        using var guest = Run32(a => a.aam(0));

        Assert.Equal(0xDEu, guest.Io.ExitValue);
    }
}

using Vessel.X86.Cpu.Execution;
using Vessel.X86.Hypercalls;
using Vessel.X86.Tests.Apic;
using Vessel.X86.Tests.Guests;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests.Hypercalls;

/// <summary>VMCALL/VMMCALL as KVM guests see them (Linux Documentation/virt/kvm/x86/hypercalls.rst).</summary>
public class HypercallTests
{
    [Fact]
    public void Vmcall_and_vmmcall_with_an_unknown_number_return_enosys_in_rax()
    {
        using var guest = new LongModeGuest(a =>
        {
            a.mov(eax, 999);
            a.vmcall();
            a.mov(rbx, rax);
            a.mov(eax, 999);
            a.vmmcall();
            a.mov(rcx, rax);
            LongModeGuest.EmitExit(a, 7);
        });

        guest.Run();

        Assert.Equal(7u, guest.Io.ExitValue);
        Assert.Equal(Cpu.Execution.Hypercalls.NotImplemented, guest.Cpu.Registers.Rbx);
        Assert.Equal(Cpu.Execution.Hypercalls.NotImplemented, guest.Cpu.Registers.Rcx);
    }

    [Fact]
    public void A_hypercall_from_ring_3_is_refused_with_eperm()
    {
        using var guest = new LongModeGuest(a =>
        {
            var user = a.CreateLabel();
            LongModeGuest.EmitEnterUserMode(a, user);
            a.Label(ref user);
            a.mov(eax, (int)KvmHypercalls.SendInterProcessorInterrupt);
            a.vmcall();
            a.mov(rbx, rax);
            LongModeGuest.EmitExit(a, 7);
        });

        guest.Run();

        Assert.Equal(7u, guest.Io.ExitValue);
        Assert.Equal(Cpu.Execution.Hypercalls.NotPermitted, guest.Cpu.Registers.Rbx);
    }

    [Fact]
    public void Send_ipi_delivers_to_each_apic_id_in_the_bitmap_and_counts_them()
    {
        using var machine = new ApicTestMachine(3);
        for (int index = 0; index < 3; index++)
        {
            machine.Apic(index).WriteRegister(0xF0, 0x1FF);
        }

        var hypercalls = new KvmHypercalls(machine.Vm.ApicBus);

        // IDs 1 and 2 (bits 0 and 1 above a minimum of 1), fixed vector 0x61; bit 5 names ID 6, which no vCPU has.
        ulong sent = hypercalls.Call(KvmHypercalls.SendInterProcessorInterrupt, 0b100011, 0, 1, 0x61, longCall: true);

        Assert.Equal(2ul, sent);
        Assert.False(machine.Apic(0).RequestPending(0x61));
        Assert.True(machine.Apic(1).RequestPending(0x61));
        Assert.True(machine.Apic(2).RequestPending(0x61));
    }

    [Fact]
    public void Send_ipi_with_an_all_ones_minimum_reaches_nobody_and_logical_destinations_are_invalid()
    {
        using var machine = new ApicTestMachine(2);
        var hypercalls = new KvmHypercalls(machine.Vm.ApicBus);

        Assert.Equal(0ul, hypercalls.Call(KvmHypercalls.SendInterProcessorInterrupt, 0xFFFF_FFFF, 0, 0xFFFF_FFFF, 0, longCall: true));
        Assert.Equal(KvmHypercalls.InvalidArgument,
            hypercalls.Call(KvmHypercalls.SendInterProcessorInterrupt, 1, 0, 0, 0x861, longCall: true));
        Assert.Equal(Cpu.Execution.Hypercalls.NotImplemented, hypercalls.Call(12345, 0, 0, 0, 0, longCall: true));
    }
}

using System.Diagnostics;
using Vessel.X86.Apic;
using Vessel.X86.Cpu;

namespace Vessel.X86.Tests.Apic;

public class LocalApicTests
{
    private const int Svr = 0xF0;
    private const int Icr = 0x300;
    private const int IcrHigh = 0x310;

    [Fact]
    public void Id_and_version_read_as_kvm_reports_them()
    {
        using var machine = new ApicTestMachine();

        Assert.Equal(1u << 24, machine.Apic(1).ReadRegister(0x20));
        Assert.Equal(0x0005_0014u, machine.Apic(0).ReadRegister(0x30));
        Assert.Equal(0xFFu, machine.Apic(0).ReadRegister(Svr));
    }

    [Fact]
    public void A_fixed_ipi_is_requested_then_in_service_then_cleared_by_eoi()
    {
        using var machine = new ApicTestMachine();
        var target = machine.Apic(1);
        target.WriteRegister(Svr, 0x1FF);
        machine.Apic(0).WriteRegister(Svr, 0x1FF);

        machine.Apic(0).WriteRegister(IcrHigh, 1u << 24);
        machine.Apic(0).WriteRegister(Icr, 0x51);

        Assert.True(target.RequestPending(0x51));
        Assert.True(target.TryAcknowledge(out int vector));
        Assert.Equal(0x51, vector);
        Assert.False(target.RequestPending(0x51));
        Assert.True(target.InService(0x51));
        Assert.Equal(0x50u, target.ReadRegister(0xA0));
        target.WriteRegister(0xB0, 0);
        Assert.False(target.InService(0x51));
    }

    [Fact]
    public void The_task_priority_holds_back_vectors_of_its_class_and_below()
    {
        using var machine = new ApicTestMachine(1);
        var apic = machine.Apic(0);
        apic.WriteRegister(Svr, 0x1FF);
        apic.WriteRegister(0x80, 0x50);

        apic.Accept(new InterruptMessage(0x45, ApicDeliveryMode.Fixed, false, 0, false));
        Assert.False(apic.TryAcknowledge(out _));

        apic.Accept(new InterruptMessage(0x65, ApicDeliveryMode.Fixed, false, 0, false));
        Assert.True(apic.TryAcknowledge(out int vector));
        Assert.Equal(0x65, vector);
    }

    [Fact]
    public void Cr8_is_the_task_priority_class_of_the_local_apic()
    {
        using var machine = new ApicTestMachine(1);
        var apic = machine.Apic(0);
        var cpu = machine.Vm.Vcpus[0].Cpu;
        apic.WriteRegister(Svr, 0x1FF);

        cpu.Cr8 = 0x6;
        Assert.Equal(0x60u, apic.ReadRegister(0x80));

        apic.WriteRegister(0x80, 0x3A);
        Assert.Equal(0x3ul, cpu.Cr8);

        cpu.Cr8 = 0x5;
        apic.Accept(new InterruptMessage(0x45, ApicDeliveryMode.Fixed, false, 0, false));
        Assert.False(apic.TryAcknowledge(out _));
        cpu.Cr8 = 0;
        Assert.True(apic.TryAcknowledge(out int vector));
        Assert.Equal(0x45, vector);
    }

    [Fact]
    public void A_software_disabled_apic_drops_fixed_interrupts()
    {
        using var machine = new ApicTestMachine(1);
        var apic = machine.Apic(0);

        apic.Accept(new InterruptMessage(0x40, ApicDeliveryMode.Fixed, false, 0, false));

        Assert.False(apic.RequestPending(0x40));
    }

    [Fact]
    public void Logical_flat_destinations_match_the_ldr_bits()
    {
        using var machine = new ApicTestMachine();
        machine.Apic(0).WriteRegister(0xD0, 0x01u << 24);
        machine.Apic(1).WriteRegister(0xD0, 0x02u << 24);

        var toSecond = new InterruptMessage(0x40, ApicDeliveryMode.Fixed, LogicalDestination: true, Destination: 0x02, false);

        Assert.False(machine.Apic(0).Matches(toSecond));
        Assert.True(machine.Apic(1).Matches(toSecond));
        Assert.True(machine.Apic(0).Matches(toSecond with { Destination = 0xFF }));
    }

    [Fact]
    public void A_periodic_timer_rearms_and_a_one_shot_timer_does_not()
    {
        using var machine = new ApicTestMachine(1);
        var apic = machine.Apic(0);
        apic.WriteRegister(Svr, 0x1FF);
        // Divide by 128 and a count of 2^31 - 1: a period of about 275 s, so neither the host timer nor a test thread
        // stalled on a loaded host can reach the deadline before the test polls it by hand.
        apic.WriteRegister(0x3E0, 0xA);
        apic.WriteRegister(0x320, 0x20040);
        // Four seconds of counts at the 1 GHz bus clock: a loaded host cannot let the period run out before the read.
        const uint initialCount = 0xF000_0000;
        apic.WriteRegister(0x380, initialCount);
        long firstDeadline = apic.NextDeadline;
        Assert.NotEqual(long.MaxValue, firstDeadline);
        Assert.InRange(apic.ReadRegister(0x390), 1u, initialCount);

        apic.Poll(firstDeadline);
        Assert.True(apic.RequestPending(0x40));
        Assert.True(apic.NextDeadline > firstDeadline);

        apic.WriteRegister(0x320, 0x41);
        apic.WriteRegister(0x380, 1000);
        apic.Poll(apic.NextDeadline);
        Assert.True(apic.RequestPending(0x41));
        Assert.Equal(long.MaxValue, apic.NextDeadline);
        Assert.Equal(0u, apic.ReadRegister(0x390));
    }

    [Fact]
    public void A_one_shot_count_that_ran_out_stays_at_zero_when_the_timer_turns_periodic()
    {
        using var machine = new ApicTestMachine(1);
        var apic = machine.Apic(0);
        apic.WriteRegister(Svr, 0x1FF);
        apic.WriteRegister(0x3E0, 0xB);
        apic.WriteRegister(0x320, 0x41);
        apic.WriteRegister(0x380, 1);
        long deadline = apic.NextDeadline;
        while (Stopwatch.GetTimestamp() <= deadline)
        {
            Thread.SpinWait(100);
        }

        // Whether or not the host timer has taken the expiry yet, it happened before the mode changed.
        apic.WriteRegister(0x320, 0x20041);

        Assert.True(apic.RequestPending(0x41));
        Assert.Equal(0u, apic.ReadRegister(0x390));
        Assert.Equal(long.MaxValue, apic.NextDeadline);
    }

    [Fact]
    public void A_masked_timer_counts_without_interrupting()
    {
        using var machine = new ApicTestMachine(1);
        var apic = machine.Apic(0);
        apic.WriteRegister(Svr, 0x1FF);
        apic.WriteRegister(0x320, 0x10040);
        apic.WriteRegister(0x380, 100);

        apic.Poll(Stopwatch.GetTimestamp() + Stopwatch.Frequency);

        Assert.False(apic.RequestPending(0x40));
    }

    [Fact]
    public void A_tsc_deadline_in_the_past_fires_at_once_and_reads_back_zero()
    {
        using var machine = new ApicTestMachine(1);
        var apic = machine.Apic(0);
        apic.WriteRegister(Svr, 0x1FF);
        apic.WriteRegister(0x320, 0x40042);

        Assert.Equal(ModelSpecificRegisterAccess.Handled, apic.WriteMsr(LocalApic.TscDeadlineMsr, 1));

        Assert.True(apic.RequestPending(0x42));
        apic.ReadMsr(LocalApic.TscDeadlineMsr, out ulong deadline);
        Assert.Equal(0ul, deadline);
    }

    [Fact]
    public void X2apic_mode_moves_the_registers_to_msrs_with_a_32_bit_id_and_derived_ldr()
    {
        using var machine = new ApicTestMachine(2);
        var apic = machine.Apic(1);
        Assert.Equal(ModelSpecificRegisterAccess.GeneralProtection, apic.ReadMsr(0x802, out _));

        apic.ReadMsr(LocalApic.ApicBaseMsr, out ulong apicBase);
        Assert.Equal(ModelSpecificRegisterAccess.Handled, apic.WriteMsr(LocalApic.ApicBaseMsr, apicBase | (ulong)ApicBaseBits.X2ApicMode));

        Assert.False(apic.RegisterPageEnabled);
        apic.ReadMsr(0x802, out ulong id);
        Assert.Equal(1ul, id);
        apic.ReadMsr(0x80D, out ulong logical);
        Assert.Equal(1ul << 1, logical);
        Assert.Equal(ModelSpecificRegisterAccess.GeneralProtection, apic.WriteMsr(0x802, 5));
        Assert.Equal(ModelSpecificRegisterAccess.GeneralProtection, apic.WriteMsr(LocalApic.ApicBaseMsr, apicBase));
    }

    [Fact]
    public void X2apic_self_ipi_and_the_64_bit_icr_deliver()
    {
        using var machine = new ApicTestMachine(2);
        foreach (int index in new[] { 0, 1 })
        {
            var apic = machine.Apic(index);
            apic.ReadMsr(LocalApic.ApicBaseMsr, out ulong apicBase);
            apic.WriteMsr(LocalApic.ApicBaseMsr, apicBase | (ulong)ApicBaseBits.X2ApicMode);
            apic.WriteMsr(0x80F, 0x1FF);
        }

        Assert.Equal(ModelSpecificRegisterAccess.Handled, machine.Apic(0).WriteMsr(0x83F, 0x61));
        Assert.Equal(ModelSpecificRegisterAccess.Handled, machine.Apic(0).WriteMsr(0x830, (1UL << 32) | 0x62));

        Assert.True(machine.Apic(0).RequestPending(0x61));
        Assert.True(machine.Apic(1).RequestPending(0x62));
    }

    [Fact]
    public void A_disabled_apic_enters_x2apic_mode_only_through_xapic_mode()
    {
        using var machine = new ApicTestMachine(1);
        var apic = machine.Apic(0);
        apic.ReadMsr(LocalApic.ApicBaseMsr, out ulong apicBase);
        ulong disabled = apicBase & ~(ulong)(ApicBaseBits.GlobalEnable | ApicBaseBits.X2ApicMode);
        const ulong x2Apic = (ulong)(ApicBaseBits.GlobalEnable | ApicBaseBits.X2ApicMode);
        Assert.Equal(ModelSpecificRegisterAccess.Handled, apic.WriteMsr(LocalApic.ApicBaseMsr, disabled));

        Assert.Equal(ModelSpecificRegisterAccess.GeneralProtection, apic.WriteMsr(LocalApic.ApicBaseMsr, disabled | x2Apic));
        Assert.Equal(ModelSpecificRegisterAccess.Handled, apic.WriteMsr(LocalApic.ApicBaseMsr, disabled | (ulong)ApicBaseBits.GlobalEnable));
        Assert.Equal(ModelSpecificRegisterAccess.Handled, apic.WriteMsr(LocalApic.ApicBaseMsr, disabled | x2Apic));
    }

    [Fact]
    public void Clearing_the_global_enable_hides_the_apic_from_cpuid()
    {
        using var machine = new ApicTestMachine(1);
        var apic = machine.Apic(0);
        var cpu = machine.Vm.Vcpus[0].Cpu;
        const uint apicFeature = (uint)CpuidFeatures1Edx.LocalApic;
        Assert.Equal(apicFeature, CpuidTemplate.Default.Query(1, 0, cpu).Edx & apicFeature);

        apic.ReadMsr(LocalApic.ApicBaseMsr, out ulong apicBase);
        apic.WriteMsr(LocalApic.ApicBaseMsr, apicBase & ~(ulong)ApicBaseBits.GlobalEnable);

        Assert.Equal(0u, CpuidTemplate.Default.Query(1, 0, cpu).Edx & apicFeature);
    }

    [Fact]
    public void X2apic_self_ipi_with_reserved_bits_and_the_absent_cmci_entry_raise_general_protection()
    {
        using var machine = new ApicTestMachine(1);
        var apic = machine.Apic(0);
        apic.ReadMsr(LocalApic.ApicBaseMsr, out ulong apicBase);
        apic.WriteMsr(LocalApic.ApicBaseMsr, apicBase | (ulong)ApicBaseBits.X2ApicMode);
        apic.WriteMsr(0x80F, 0x1FF);

        Assert.Equal(ModelSpecificRegisterAccess.GeneralProtection, apic.WriteMsr(0x83F, 0x100));
        Assert.Equal(ModelSpecificRegisterAccess.GeneralProtection, apic.WriteMsr(0x83F, 0xFF00_0000));
        Assert.False(apic.RequestPending(0));
        Assert.Equal(ModelSpecificRegisterAccess.GeneralProtection, apic.WriteMsr(0x82F, 0));
        Assert.Equal(ModelSpecificRegisterAccess.GeneralProtection, apic.ReadMsr(0x82F, out _));
    }

    [Fact]
    public void Init_parks_an_application_processor_until_startup_starts_it_at_the_vector_page()
    {
        using var machine = new ApicTestMachine(2);
        var cpu = machine.Vm.Vcpus[1].Cpu;
        machine.Apic(0).WriteRegister(IcrHigh, 1u << 24);

        machine.Apic(0).WriteRegister(Icr, 0x4500);
        cpu.RequestExit();
        cpu.Run();
        Assert.True(cpu.WaitingForStartup);

        machine.Apic(0).WriteRegister(Icr, 0x4612);
        cpu.Run(1);

        Assert.False(cpu.WaitingForStartup);
        Assert.Equal(0x12000ul, cpu.Segment(SegmentRegister.CS).Base);
        Assert.Equal(0x1200, cpu.Segment(SegmentRegister.CS).Selector);
    }
}

using Vessel.Core.Memory;
using Vessel.X86.Cpu;
using Vessel.X86.Tests.Guests;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests;

/// <summary>MSRs, descriptor-table registers, the task register and CPUID as a guest sees them.</summary>
public class SystemRegisterTests
{
    private const ulong Report = LongModeGuest.DataAddress;

    private static T Read<T>(LongModeGuest guest, ulong offset)
        where T : unmanaged => guest.Memory.Read<T>(new GuestAddress(Report + offset));

    [Fact]
    public void Misc_enable_keeps_its_software_bits_and_ignores_writes_to_read_only_ones()
    {
        using var guest = new LongModeGuest(a =>
        {
            a.mov(ecx, 0x1A0);
            a.mov(eax, 0x00C5_0809);
            a.mov(edx, 0x4);
            a.wrmsr();
            a.xor(eax, eax);
            a.xor(edx, edx);
            a.rdmsr();
            a.mov(__dword_ptr[Report], eax);
            a.mov(__dword_ptr[Report + 4], edx);
            LongModeGuest.EmitExit(a, 0);
        });

        guest.Run();

        Assert.Equal(0u, guest.Io.ExitValue);
        // Bit 11 (BTS unavailable) cannot be cleared and bit 12 (PEBS unavailable) stays set.
        Assert.Equal(0x4_00C5_1809ul, Read<ulong>(guest, 0));
    }

    [Fact]
    public void Wrmsr_and_rdmsr_round_trip_and_bad_msrs_raise_general_protection()
    {
        using var guest = new LongModeGuest(a =>
        {
            var afterNonCanonical = a.CreateLabel();
            var afterUnknown = a.CreateLabel();
            a.mov(ecx, 0xC000_0102);
            a.mov(eax, 0x89AB_CDEF);
            a.mov(edx, 0x7FFF);
            a.wrmsr();
            a.xor(eax, eax);
            a.xor(edx, edx);
            a.rdmsr();
            a.mov(__dword_ptr[Report], eax);
            a.mov(__dword_ptr[Report + 4], edx);
            a.swapgs();
            a.mov(ecx, 0xC000_0101);
            a.rdmsr();
            a.mov(__dword_ptr[Report + 8], eax);
            a.mov(__dword_ptr[Report + 12], edx);

            LongModeGuest.EmitResumeAt(a, afterNonCanonical);
            a.mov(ecx, 0xC000_0102);
            a.mov(edx, 0x8000_0000);
            a.wrmsr();
            a.Label(ref afterNonCanonical);

            LongModeGuest.EmitResumeAt(a, afterUnknown);
            a.mov(ecx, 0x1234_5678);
            a.rdmsr();
            a.Label(ref afterUnknown);
            LongModeGuest.EmitExit(a, 0);
        });

        guest.Run();

        Assert.Equal(0u, guest.Io.ExitValue);
        Assert.Equal(0x7FFF_89AB_CDEFul, Read<ulong>(guest, 0));
        Assert.Equal(0x7FFF_89AB_CDEFul, Read<ulong>(guest, 8));
        Assert.Equal(0x7FFF_89AB_CDEFul, guest.Cpu.Segment(SegmentRegister.GS).Base);
        var exception = guest.LastException;
        Assert.Equal((ulong)ExceptionVector.GeneralProtection, exception.Vector);
        Assert.Equal(0ul, exception.ErrorCode);
        Assert.Equal(2ul, exception.Count);
    }

    [Fact]
    public void Msrs_hold_their_architectural_reset_values_and_refuse_invalid_contents()
    {
        using var guest = new LongModeGuest(a => LongModeGuest.EmitExit(a, 0));
        var cpu = guest.Cpu;

        Assert.True(cpu.TryReadMsr((uint)ModelSpecificRegister.ApicBase, out ulong apicBase));
        Assert.Equal(0xFEE0_0900ul, apicBase);
        Assert.True(cpu.TryReadMsr((uint)ModelSpecificRegister.PageAttributeTable, out ulong pat));
        Assert.Equal(0x0007_0406_0007_0406ul, pat);
        Assert.False(cpu.TryWriteMsr((uint)ModelSpecificRegister.PageAttributeTable, 0x02));
        Assert.True(cpu.TryWriteMsr((uint)ModelSpecificRegister.PageAttributeTable, 0x0106));
        Assert.False(cpu.TryWriteMsr((uint)ModelSpecificRegister.FeatureControl, 0));
        Assert.True(cpu.TryReadMsr((uint)ModelSpecificRegister.FeatureControl, out ulong featureControl));
        Assert.Equal(1ul, featureControl);
        Assert.True(cpu.TryWriteMsr(0x201, 0xFF_F000_0800));
        Assert.True(cpu.TryReadMsr(0x201, out ulong mask));
        Assert.Equal(0xFF_F000_0800ul, mask);
        Assert.False(cpu.TryWriteMsr(0x200, 0x2));
        Assert.True(cpu.TryWriteMsr((uint)ModelSpecificRegister.TimeStampCounter, 1_000_000));
        Assert.True(cpu.TryReadMsr((uint)ModelSpecificRegister.TimeStampCounter, out ulong tsc));
        Assert.InRange(tsc, 1_000_000ul, 1_000_000ul + 60_000_000_000ul);
    }

    [Fact]
    public void Lgdt_lidt_sgdt_and_sidt_round_trip_ten_byte_pseudo_descriptors()
    {
        using var guest = new LongModeGuest(a =>
        {
            a.sgdt(__[Report]);
            a.sidt(__[Report + 16]);
            a.mov(__word_ptr[Report + 32], 0x1FF);
            a.mov(rax, LongModeGuest.IdtAddress);
            a.mov(__qword_ptr[Report + 34], rax);
            a.lidt(__[Report + 32]);
            a.sidt(__[Report + 48]);
            a.lgdt(__[Report]);
            LongModeGuest.EmitExit(a, 0);
        });

        guest.Run();

        Assert.Equal(0u, guest.Io.ExitValue);
        Assert.Equal(LongModeGuest.GdtLimit, Read<ushort>(guest, 0));
        Assert.Equal(LongModeGuest.GdtAddress, Read<ulong>(guest, 2));
        Assert.Equal((ushort)0xFFF, Read<ushort>(guest, 16));
        Assert.Equal(LongModeGuest.IdtAddress, Read<ulong>(guest, 18));
        Assert.Equal((ushort)0x1FF, Read<ushort>(guest, 48));
        Assert.Equal(LongModeGuest.IdtAddress, Read<ulong>(guest, 50));
        Assert.Equal((ushort)0x1FF, guest.Cpu.Idtr.Limit);
        Assert.Equal(LongModeGuest.GdtAddress, guest.Cpu.Gdtr.Base);
    }

    [Fact]
    public void Ltr_marks_the_tss_busy_and_a_second_ltr_of_the_busy_tss_faults()
    {
        using var guest = new LongModeGuest(a =>
        {
            var resume = a.CreateLabel();
            a.mov(eax, LongModeGuest.SecondTssSelector);
            a.ltr(ax);
            a.str(bx);
            a.mov(__word_ptr[Report], bx);
            LongModeGuest.EmitResumeAt(a, resume);
            a.mov(eax, LongModeGuest.SecondTssSelector);
            a.ltr(ax);
            a.Label(ref resume);
            LongModeGuest.EmitExit(a, 0);
        });

        guest.Run();

        Assert.Equal(0u, guest.Io.ExitValue);
        Assert.Equal(LongModeGuest.SecondTssSelector, Read<ushort>(guest, 0));
        Assert.Equal(LongModeGuest.SecondTssSelector, guest.Cpu.Tr.Selector);
        Assert.Equal(LongModeGuest.SecondTssAddress, guest.Cpu.Tr.Base);
        ulong descriptor = guest.Memory.Read<ulong>(new GuestAddress(LongModeGuest.GdtAddress + LongModeGuest.SecondTssSelector));
        Assert.Equal(0xBul, (descriptor >> 40) & 0xF);
        Assert.Equal((ulong)ExceptionVector.GeneralProtection, guest.LastException.Vector);
        Assert.Equal((ulong)LongModeGuest.SecondTssSelector, guest.LastException.ErrorCode);
    }

    [Fact]
    public void Cpuid_hypervisor_leaves_name_vessel_and_offer_no_paravirtual_features()
    {
        using var guest = new LongModeGuest(a =>
        {
            a.mov(eax, 0x4000_0000);
            a.cpuid();
            a.mov(__dword_ptr[Report], ebx);
            a.mov(__dword_ptr[Report + 4], ecx);
            a.mov(__dword_ptr[Report + 8], edx);
            a.mov(__dword_ptr[Report + 12], eax);
            a.mov(eax, 0x4000_0001);
            a.cpuid();
            a.or(eax, ebx);
            a.or(eax, ecx);
            a.or(eax, edx);
            a.mov(__dword_ptr[Report + 16], eax);
            a.mov(eax, 0x4000_0100);
            a.cpuid();
            a.mov(__dword_ptr[Report + 20], eax);
            LongModeGuest.EmitExit(a, 0);
        });

        guest.Run();

        Span<byte> signature = stackalloc byte[12];
        guest.Memory.ReadBytes(new GuestAddress(Report), signature);
        Assert.Equal("Vessel\0\0\0\0\0\0", System.Text.Encoding.ASCII.GetString(signature));
        Assert.Equal(0x4000_0001u, Read<uint>(guest, 12));
        Assert.Equal(0u, Read<uint>(guest, 16));
        Assert.Equal(0u, Read<uint>(guest, 20));
    }

    [Fact]
    public void Cpuid_reports_genuine_intel_and_the_tsc_frequency_in_leaf_0x15()
    {
        using var guest = new LongModeGuest(a =>
        {
            a.xor(eax, eax);
            a.cpuid();
            a.mov(__dword_ptr[Report], ebx);
            a.mov(__dword_ptr[Report + 4], edx);
            a.mov(__dword_ptr[Report + 8], ecx);
            a.mov(eax, 0x15);
            a.cpuid();
            a.mov(__dword_ptr[Report + 16], eax);
            a.mov(__dword_ptr[Report + 20], ebx);
            a.mov(__dword_ptr[Report + 24], ecx);
            a.mov(eax, 7);
            a.xor(ecx, ecx);
            a.cpuid();
            a.mov(__dword_ptr[Report + 28], ecx);
            LongModeGuest.EmitExit(a, 0);
        });

        guest.Run();

        Span<byte> vendor = stackalloc byte[12];
        guest.Memory.ReadBytes(new GuestAddress(Report), vendor);
        Assert.Equal("GenuineIntel", System.Text.Encoding.ASCII.GetString(vendor));
        Assert.Equal(1u, Read<uint>(guest, 16));
        Assert.Equal(1u, Read<uint>(guest, 20));
        Assert.Equal((uint)guest.Cpu.Cpuid.TscFrequencyHz, Read<uint>(guest, 24));
        Assert.Equal(1u << 2, Read<uint>(guest, 28) & (1u << 2));
    }
}

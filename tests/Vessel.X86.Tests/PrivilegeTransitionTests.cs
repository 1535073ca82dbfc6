using Vessel.Core.Memory;
using Vessel.X86.Cpu;
using Vessel.X86.Tests.Guests;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests;

/// <summary>Ring 0 to ring 3 and back (IRETQ, SYSCALL/SYSRET, exceptions), and long mode to compatibility mode and back.</summary>
public class PrivilegeTransitionTests
{
    private const ulong Report = LongModeGuest.DataAddress;

    private static ulong ReportSlot(LongModeGuest guest, int index) => guest.Memory.Read<ulong>(new GuestAddress(Report + ((ulong)index * 8)));

    [Fact]
    public void Ring_3_code_entered_by_iretq_makes_a_system_call_returns_by_sysret_and_faults_on_hlt()
    {
        using var guest = new LongModeGuest((a, routes) =>
        {
            var user = a.CreateLabel();
            var entry = a.CreateLabel();
            var generalProtection = a.CreateLabel();

            // STAR: SYSCALL CS=0x08/SS=0x10; SYSRET base 0x10 gives SS=0x1B and 64-bit CS=0x23.
            a.mov(ecx, 0xC000_0081);
            a.xor(eax, eax);
            a.mov(edx, 0x0010_0008);
            a.wrmsr();
            a.mov(ecx, 0xC000_0082);
            a.lea(rax, __[entry]);
            a.xor(edx, edx); // the code lies below 4 GiB
            a.wrmsr();
            LongModeGuest.EmitEnterUserMode(a, user);

            a.Label(ref user);
            a.mov(ax, cs);
            a.movzx(ebx, ax);
            a.mov(edi, 5);
            a.syscall();
            a.mov(ax, cs);
            a.movzx(r12d, ax);
            a.hlt();

            a.Label(ref entry);
            a.mov(ax, cs);
            a.movzx(r8d, ax);
            a.add(rdi, 100);
            a.sysretq();

            a.Label(ref generalProtection);
            routes.Route(13, generalProtection);
            a.pop(r13);
            a.mov(r14, __qword_ptr[rsp + 8]);
            a.mov(ax, cs);
            a.movzx(r15d, ax);
            a.mov(__qword_ptr[Report], rbx);
            a.mov(__qword_ptr[Report + 8], rdi);
            a.mov(__qword_ptr[Report + 16], r12);
            a.mov(__qword_ptr[Report + 24], r13);
            a.mov(__qword_ptr[Report + 32], r14);
            a.mov(__qword_ptr[Report + 40], r15);
            a.mov(__qword_ptr[Report + 48], r8);
            LongModeGuest.EmitExit(a, 0);
        });

        guest.Run();

        Assert.Equal(0u, guest.Io.ExitValue);
        Assert.Equal(0x23ul, ReportSlot(guest, 0));
        Assert.Equal(105ul, ReportSlot(guest, 1));
        Assert.Equal(0x23ul, ReportSlot(guest, 2));
        Assert.Equal(0ul, ReportSlot(guest, 3));
        Assert.Equal(0x23ul, ReportSlot(guest, 4));
        Assert.Equal(0x08ul, ReportSlot(guest, 5));
        Assert.Equal(0x08ul, ReportSlot(guest, 6));
        Assert.Equal(0, guest.Cpu.CurrentPrivilegeLevel);
    }

    [Fact]
    public void Iretq_to_ring_3_nulls_a_kernel_gs_selector_but_keeps_the_gs_base()
    {
        using var guest = new LongModeGuest(a =>
        {
            var user = a.CreateLabel();
            a.mov(eax, LongModeGuest.KernelData);
            a.mov(gs, eax);
            a.mov(__qword_ptr[Report + 64], 0x1234);
            a.mov(ecx, 0xC000_0101); // IA32_GS_BASE
            a.mov(eax, (uint)(Report + 64));
            a.xor(edx, edx);
            a.wrmsr();
            LongModeGuest.EmitEnterUserMode(a, user);

            a.Label(ref user);
            a.mov(ax, gs);
            a.movzx(eax, ax);
            a.mov(__qword_ptr[Report], rax);
            a.mov(rax, __qword_ptr.gs[0]);
            a.mov(__qword_ptr[Report + 8], rax);
            LongModeGuest.EmitExit(a, 7);
        });

        guest.Run();

        Assert.Equal(7u, guest.Io.ExitValue);
        Assert.Equal(0ul, ReportSlot(guest, 0));
        Assert.Equal(0x1234ul, ReportSlot(guest, 1));
    }

    [Fact]
    public void A_ring_3_write_to_a_read_only_page_faults_with_a_user_write_protection_error_code()
    {
        const ulong readOnly = 0x40_0000;
        using var guest = new LongModeGuest(a =>
        {
            var user = a.CreateLabel();
            var resume = a.CreateLabel();
            LongModeGuest.EmitEnterUserMode(a, user);
            a.Label(ref user);
            LongModeGuest.EmitResumeAt(a, resume);
            a.mov(rbx, readOnly + 0x10);
            a.mov(__dword_ptr[rbx], eax);
            a.Label(ref resume);
            LongModeGuest.EmitExit(a, 3);
        });
        guest.SetLargePage(readOnly, readOnly | 0x85);

        guest.Run();

        Assert.Equal(3u, guest.Io.ExitValue);
        var exception = guest.LastException;
        Assert.Equal((ulong)ExceptionVector.PageFault, exception.Vector);
        Assert.Equal(readOnly + 0x10, exception.Cr2);
        Assert.Equal(0x7ul, exception.ErrorCode);
    }

    [Fact]
    public void Umip_makes_sgdt_in_ring_3_a_general_protection_fault()
    {
        using var guest = new LongModeGuest(a =>
        {
            var user = a.CreateLabel();
            var resume = a.CreateLabel();
            a.mov(rax, cr4);
            a.or(rax, (int)ControlRegister4.UserModeInstructionPrevention);
            a.mov(cr4, rax);
            LongModeGuest.EmitEnterUserMode(a, user);
            a.Label(ref user);
            LongModeGuest.EmitResumeAt(a, resume);
            a.sgdt(__[Report]);
            a.Label(ref resume);
            LongModeGuest.EmitExit(a, 4);
        });

        guest.Run();

        Assert.Equal(4u, guest.Io.ExitValue);
        Assert.Equal((ulong)ExceptionVector.GeneralProtection, guest.LastException.Vector);
        Assert.Equal(0ul, guest.LastException.ErrorCode);
    }

    [Fact]
    public void A_far_return_into_a_32_bit_code_segment_runs_compatibility_mode_and_a_far_return_comes_back()
    {
        using var guest = new LongModeGuest(a =>
        {
            var compatibility = a.CreateLabel();
            var back = a.CreateLabel();

            // The 32-bit RETF frame the compatibility code will use: EIP then CS, 4 bytes each.
            a.sub(rsp, 8);
            a.lea(rax, __[back]);
            a.mov(__dword_ptr[rsp], eax);
            a.mov(__dword_ptr[rsp + 4], (int)LongModeGuest.KernelCode);
            a.push(LongModeGuest.CompatibilityCode);
            a.lea(rax, __[compatibility]);
            a.push(rax);
            a.db(0x48, 0xCB); // RETFQ

            // 32-bit code: "mov eax, 0x2A; inc eax; retf".
            a.Label(ref compatibility);
            a.db(0xB8, 0x2A, 0x00, 0x00, 0x00, 0x40, 0xCB);

            a.Label(ref back);
            a.mov(__qword_ptr[Report], rax);
            a.mov(ax, cs);
            a.movzx(eax, ax);
            a.mov(__qword_ptr[Report + 8], rax);
            LongModeGuest.EmitExit(a, 5);
        });

        guest.Run();

        Assert.Equal(5u, guest.Io.ExitValue);
        Assert.Equal(0x2Bul, ReportSlot(guest, 0));
        Assert.Equal((ulong)LongModeGuest.KernelCode, ReportSlot(guest, 1));
        Assert.Equal(64, guest.Cpu.CodeBits);
        Assert.Equal(LongModeGuest.StackTop, guest.Cpu.Registers.Rsp);
    }
}

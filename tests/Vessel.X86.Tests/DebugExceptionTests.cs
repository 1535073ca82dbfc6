using Iced.Intel;
using Vessel.Core.Memory;
using Vessel.X86.Cpu;
using Vessel.X86.Tests.Guests;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests;

/// <summary>
/// #DB from single-step, DR0-DR3 breakpoints, general detect and ICEBP (Intel SDM 3B §18.2-18.3), and the interrupt
/// shadows that hold single-step back (SDM 3A §6.8.3). Each guest routes #DB to a handler that logs the saved RIP and
/// DR6 of every #DB it takes.
/// </summary>
public class DebugExceptionTests
{
    /// <summary>The handler's log: a count, then (RIP, DR6) pairs from offset 16.</summary>
    private const ulong Log = LongModeGuest.DataAddress;

    /// <summary>Data the breakpoints watch, on a page of its own.</summary>
    private const ulong Watched = LongModeGuest.DataAddress + 0x1000;

    private const ulong DebugStatusFixedOnes = 0xFFFF_0FF0;
    private const int TrapFlag = 0x100;
    private const int ResumeFlag = 0x1_0000;

    private enum HandlerReturn
    {
        /// <summary>Return to the saved RIP and flags as they are.</summary>
        AsSaved,

        /// <summary>Set RF in the saved flags, as an instruction breakpoint's handler must to go on.</summary>
        SetResume,

        /// <summary>Clear TF in the saved flags: single-stepping ends with this #DB.</summary>
        ClearTrap,
    }

    private static LongModeGuest DebugGuest(Action<Assembler, InterruptRoutes> program, HandlerReturn handlerReturn = HandlerReturn.AsSaved) =>
        new((a, routes) =>
        {
            a.xor(eax, eax);
            a.mov(dr6, rax);
            program(a, routes);
            LongModeGuest.EmitExit(a, 7);

            var handler = a.CreateLabel();
            a.Label(ref handler);
            routes.Route((int)ExceptionVector.Debug, handler);
            a.push(rax);
            a.push(rbx);
            a.mov(rbx, __qword_ptr[Log]);
            a.shl(rbx, 4);
            a.mov(rax, __qword_ptr[rsp + 16]);
            a.mov(__qword_ptr[rbx + (long)Log + 16], rax);
            a.mov(rax, dr6);
            a.mov(__qword_ptr[rbx + (long)Log + 24], rax);
            a.inc(__qword_ptr[Log]);
            a.pop(rbx);
            a.pop(rax);
            if (handlerReturn == HandlerReturn.SetResume)
            {
                a.or(__qword_ptr[rsp + 16], ResumeFlag);
            }
            else if (handlerReturn == HandlerReturn.ClearTrap)
            {
                a.and(__qword_ptr[rsp + 16], ~TrapFlag);
            }

            a.iretq();
        });

    private static ulong Count(LongModeGuest guest) => guest.Memory.Read<ulong>(new GuestAddress(Log));

    private static (ulong Rip, ulong Status) Entry(LongModeGuest guest, int index) => (
        guest.Memory.Read<ulong>(new GuestAddress(Log + 16 + ((ulong)index * 16))),
        guest.Memory.Read<ulong>(new GuestAddress(Log + 24 + ((ulong)index * 16))));

    /// <summary>Assembles "pushfq; pop rbx; lea rax, [rbx + TF]; push rax; popfq": TF on, the flags without it kept in RBX.</summary>
    private static void EmitSetTrapFlag(Assembler a)
    {
        a.pushfq();
        a.pop(rbx);
        a.mov(rax, rbx);
        a.or(rax, TrapFlag);
        a.push(rax);
        a.popfq();
    }

    [Fact]
    public void Single_step_traps_after_each_instruction_from_the_one_after_the_popf_that_sets_tf_to_the_popf_that_clears_it()
    {
        var labels = new Label[5];
        using var guest = DebugGuest((a, _) =>
        {
            for (int i = 0; i < labels.Length; i++)
            {
                labels[i] = a.CreateLabel();
            }

            EmitSetTrapFlag(a);
            a.nop();
            a.Label(ref labels[0]);
            a.nop();
            a.Label(ref labels[1]);
            a.nop();
            a.Label(ref labels[2]);
            a.push(rbx);
            a.Label(ref labels[3]);
            a.popfq();
            a.Label(ref labels[4]);
        });

        guest.Run();

        Assert.Equal(7u, guest.Io.ExitValue);
        Assert.Equal(5ul, Count(guest));
        for (int i = 0; i < labels.Length; i++)
        {
            Assert.Equal((guest.AddressOf(labels[i]), DebugStatusFixedOnes | (ulong)DebugStatus.SingleStep), Entry(guest, i));
        }
    }

    [Fact]
    public void Iretq_that_sets_tf_traps_after_the_first_instruction_it_returns_to_and_not_after_itself()
    {
        var target = default(Label);
        var afterTarget = default(Label);
        using var guest = DebugGuest(
            (a, _) =>
            {
                target = a.CreateLabel();
                afterTarget = a.CreateLabel();
                a.mov(rax, rsp);
                a.push(LongModeGuest.KernelData);
                a.push(rax);
                a.pushfq();
                a.or(__qword_ptr[rsp], TrapFlag);
                a.push(LongModeGuest.KernelCode);
                a.lea(rax, __[target]);
                a.push(rax);
                a.iretq();
                a.Label(ref target);
                a.nop();
                a.Label(ref afterTarget);
                a.nop();
            },
            HandlerReturn.ClearTrap);

        guest.Run();

        Assert.Equal(7u, guest.Io.ExitValue);
        Assert.Equal(1ul, Count(guest));
        Assert.Equal(guest.AddressOf(afterTarget), Entry(guest, 0).Rip);
    }

    [Fact]
    public void Sti_shadow_does_not_hold_back_single_step()
    {
        var afterSti = default(Label);
        using var guest = DebugGuest(
            (a, _) =>
            {
                afterSti = a.CreateLabel();
                a.cli();
                EmitSetTrapFlag(a);
                a.sti();
                a.Label(ref afterSti);
                a.nop();
            },
            HandlerReturn.ClearTrap);

        guest.Run();

        Assert.Equal(7u, guest.Io.ExitValue);
        Assert.Equal(1ul, Count(guest));
        Assert.Equal(guest.AddressOf(afterSti), Entry(guest, 0).Rip);
    }

    [Fact]
    public void Mov_ss_holds_single_step_back_until_the_next_instruction_completes()
    {
        var afterNext = default(Label);
        using var guest = DebugGuest(
            (a, _) =>
            {
                afterNext = a.CreateLabel();
                a.mov(ecx, ss);
                EmitSetTrapFlag(a);
                a.mov(ss, ecx);
                a.nop();
                a.Label(ref afterNext);
                a.nop();
            },
            HandlerReturn.ClearTrap);

        guest.Run();

        Assert.Equal(7u, guest.Io.ExitValue);
        Assert.Equal(1ul, Count(guest));
        Assert.Equal((guest.AddressOf(afterNext), DebugStatusFixedOnes | (ulong)DebugStatus.SingleStep), Entry(guest, 0));
    }

    [Fact]
    public void Instruction_breakpoint_on_the_instruction_after_mov_ss_is_dropped_on_intel()
    {
        var target = default(Label);
        var second = default(Label);
        using var guest = DebugGuest(
            (a, _) =>
            {
                target = a.CreateLabel();
                second = a.CreateLabel();
                a.lea(rax, __[target]);
                a.mov(dr0, rax);
                a.lea(rax, __[second]);
                a.mov(dr1, rax);
                a.mov(eax, 0x402); // G0, G1, both execute breakpoints of length 1
                a.or(eax, 0x8);
                a.mov(dr7, rax);
                a.mov(ecx, ss);
                a.mov(ss, ecx);
                a.Label(ref target);
                a.xor(ecx, ecx);
                a.Label(ref second);
                a.inc(ecx);
            },
            HandlerReturn.SetResume);

        guest.Run();

        // The breakpoint in the MOV SS shadow is lost (SDM 3B §18.3.1.1 on Intel parts); the next one still faults.
        Assert.Equal(7u, guest.Io.ExitValue);
        Assert.Equal(1ul, Count(guest));
        Assert.Equal((guest.AddressOf(second), DebugStatusFixedOnes | (ulong)DebugStatus.Breakpoint1), Entry(guest, 0));
    }

    [Fact]
    public void Instruction_breakpoint_faults_before_the_instruction_and_rf_lets_it_run_once_resumed()
    {
        var target = default(Label);
        using var guest = DebugGuest(
            (a, _) =>
            {
                target = a.CreateLabel();
                a.lea(rax, __[target]);
                a.mov(dr2, rax);
                a.mov(eax, 0x410); // L2, R/W2 = 00 (execute), LEN2 = 00
                a.mov(dr7, rax);
                a.xor(ecx, ecx);
                a.Label(ref target);
                a.inc(ecx);
                a.mov(__qword_ptr[Watched], rcx);
            },
            HandlerReturn.SetResume);

        guest.Run();

        Assert.Equal(7u, guest.Io.ExitValue);
        Assert.Equal(1ul, Count(guest));
        Assert.Equal((guest.AddressOf(target), DebugStatusFixedOnes | (ulong)DebugStatus.Breakpoint2), Entry(guest, 0));
        Assert.Equal(1ul, guest.Memory.Read<ulong>(new GuestAddress(Watched)));
    }

    [Fact]
    public void Write_breakpoint_traps_after_a_write_to_its_range_and_ignores_reads()
    {
        var afterWrite = default(Label);
        using var guest = DebugGuest((a, _) =>
        {
            afterWrite = a.CreateLabel();
            a.mov(rax, Watched);
            a.mov(dr1, rax);
            a.mov(eax, 0x00D0_0408); // G1, R/W1 = 01 (write), LEN1 = 11 (four bytes)
            a.mov(dr7, rax);
            a.mov(eax, __dword_ptr[Watched]);
            a.mov(__dword_ptr[Watched + 4], eax);
            a.mov(__word_ptr[Watched + 2], ax);
            a.Label(ref afterWrite);
            a.nop();
        });

        guest.Run();

        Assert.Equal(7u, guest.Io.ExitValue);
        Assert.Equal(1ul, Count(guest));
        Assert.Equal((guest.AddressOf(afterWrite), DebugStatusFixedOnes | (ulong)DebugStatus.Breakpoint1), Entry(guest, 0));
    }

    [Fact]
    public void Read_write_breakpoint_traps_on_reads_and_read_modify_writes_and_keeps_a_bs_bit_software_left()
    {
        var afterRead = default(Label);
        var afterAdd = default(Label);
        using var guest = DebugGuest((a, _) =>
        {
            afterRead = a.CreateLabel();
            afterAdd = a.CreateLabel();
            a.mov(eax, (int)DebugStatus.SingleStep);
            a.mov(dr6, rax);
            a.mov(rax, Watched + 8);
            a.mov(dr3, rax);
            a.mov(eax, unchecked((int)0xB000_0480)); // G3, R/W3 = 11 (read or write), LEN3 = 10 (eight bytes)
            a.mov(dr7, rax);
            a.mov(rcx, __qword_ptr[Watched + 12]);
            a.Label(ref afterRead);
            a.mov(__qword_ptr[Watched + 16], rcx);
            a.add(__dword_ptr[Watched + 8], 1);
            a.Label(ref afterAdd);
            a.nop();
        });

        guest.Run();

        const ulong expected = DebugStatusFixedOnes | (ulong)(DebugStatus.SingleStep | DebugStatus.Breakpoint3);
        Assert.Equal(7u, guest.Io.ExitValue);
        Assert.Equal(2ul, Count(guest));
        Assert.Equal((guest.AddressOf(afterRead), expected), Entry(guest, 0));
        Assert.Equal((guest.AddressOf(afterAdd), expected), Entry(guest, 1));
    }

    [Fact]
    public void Data_breakpoint_hit_by_mov_ss_is_reported_after_the_next_instruction()
    {
        var afterNext = default(Label);
        using var guest = DebugGuest((a, _) =>
        {
            afterNext = a.CreateLabel();
            a.mov(__word_ptr[Watched], LongModeGuest.KernelData);
            a.mov(rax, Watched);
            a.mov(dr0, rax);
            a.mov(eax, 0x0003_0402); // G0, R/W0 = 11, LEN0 = 00 (one byte)
            a.mov(dr7, rax);
            a.mov(ss, __word_ptr[Watched]);
            a.nop();
            a.Label(ref afterNext);
            a.nop();
        });

        guest.Run();

        Assert.Equal(7u, guest.Io.ExitValue);
        Assert.Equal(1ul, Count(guest));
        Assert.Equal((guest.AddressOf(afterNext), DebugStatusFixedOnes | (ulong)DebugStatus.Breakpoint0), Entry(guest, 0));
    }

    [Fact]
    public void Io_breakpoint_traps_after_an_out_to_its_port_only_with_cr4_de_set()
    {
        var afterSecondOut = default(Label);
        using var guest = DebugGuest((a, _) =>
        {
            afterSecondOut = a.CreateLabel();
            a.mov(eax, 0x80);
            a.mov(dr0, rax);
            a.mov(eax, 0x0002_0401); // L0, R/W0 = 10 (I/O), LEN0 = 00
            a.mov(dr7, rax);
            a.@out(0x80, al);
            a.mov(rax, cr4);
            a.or(eax, (int)ControlRegister4.DebuggingExtensions);
            a.mov(cr4, rax);
            a.@out(0x80, al);
            a.Label(ref afterSecondOut);
            a.@out(0x81, al);
        });

        guest.Run();

        Assert.Equal(7u, guest.Io.ExitValue);
        Assert.Equal(1ul, Count(guest));
        Assert.Equal((guest.AddressOf(afterSecondOut), DebugStatusFixedOnes | (ulong)DebugStatus.Breakpoint0), Entry(guest, 0));
    }

    [Fact]
    public void General_detect_faults_on_mov_dr_with_bd_set_and_clears_gd_so_the_retried_mov_runs()
    {
        var access = default(Label);
        using var guest = DebugGuest((a, _) =>
        {
            access = a.CreateLabel();
            a.mov(eax, 0x2400); // GD
            a.mov(dr7, rax);
            a.Label(ref access);
            a.mov(rcx, dr7);
            a.mov(__qword_ptr[Watched], rcx);
        });

        guest.Run();

        Assert.Equal(7u, guest.Io.ExitValue);
        Assert.Equal(1ul, Count(guest));
        Assert.Equal((guest.AddressOf(access), DebugStatusFixedOnes | (ulong)DebugStatus.DebugRegisterAccess), Entry(guest, 0));
        Assert.Equal(0x400ul, guest.Memory.Read<ulong>(new GuestAddress(Watched)));
    }

    [Fact]
    public void Icebp_is_a_debug_trap_that_leaves_dr6_alone()
    {
        var afterIcebp = default(Label);
        using var guest = DebugGuest((a, _) =>
        {
            afterIcebp = a.CreateLabel();
            a.int1();
            a.Label(ref afterIcebp);
        });

        guest.Run();

        Assert.Equal(7u, guest.Io.ExitValue);
        Assert.Equal(1ul, Count(guest));
        Assert.Equal((guest.AddressOf(afterIcebp), DebugStatusFixedOnes), Entry(guest, 0));
    }

    [Fact]
    public void Sysret_that_sets_tf_traps_right_after_itself_and_syscall_that_masks_tf_does_not_trap()
    {
        var user = default(Label);
        using var guest = DebugGuest(
            (a, _) =>
            {
                user = a.CreateLabel();
                var entry = a.CreateLabel();
                var done = a.CreateLabel();

                // STAR: SYSCALL CS=0x08; SYSRET base 0x10 (SS=0x1B, CS=0x23). LSTAR = entry; FMASK = TF.
                a.mov(ecx, 0xC000_0081);
                a.xor(eax, eax);
                a.mov(edx, 0x0010_0008);
                a.wrmsr();
                a.mov(ecx, 0xC000_0082);
                a.lea(rax, __[entry]);
                a.xor(edx, edx);
                a.wrmsr();
                a.mov(ecx, 0xC000_0084);
                a.mov(eax, TrapFlag);
                a.wrmsr();
                a.lea(rcx, __[user]);
                a.mov(r11d, 0x3000 | TrapFlag | 0x2);
                a.sysretq();

                // Ring 3, IOPL 3, TF set by SYSRET: the trap comes before the first user instruction; the handler clears TF.
                a.Label(ref user);
                EmitSetTrapFlag(a);
                a.syscall();

                a.Label(ref entry);
                a.jmp(done);
                a.Label(ref done);
            },
            HandlerReturn.ClearTrap);

        guest.Run();

        Assert.Equal(7u, guest.Io.ExitValue);
        Assert.Equal(1ul, Count(guest));
        Assert.Equal((guest.AddressOf(user), DebugStatusFixedOnes | (ulong)DebugStatus.SingleStep), Entry(guest, 0));
    }
}

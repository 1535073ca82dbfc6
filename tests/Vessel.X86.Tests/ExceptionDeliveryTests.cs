using Vessel.Core.Accel;
using Vessel.Core.Memory;
using Vessel.X86.Cpu;
using Vessel.X86.Tests.Guests;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests;

/// <summary>Exceptions taken through the 64-bit IDT and returned from with IRETQ (Intel SDM 3A chapter 6).</summary>
public class ExceptionDeliveryTests
{
    private const ulong UnmappedAddress = 0x4000_1238;

    [Fact]
    public void Int3_is_delivered_as_a_breakpoint_trap_that_returns_after_the_instruction()
    {
        using var guest = new LongModeGuest(a =>
        {
            a.int3();
            LongModeGuest.EmitExit(a, 7);
        });

        guest.Run();

        Assert.Equal(7u, guest.Io.ExitValue);
        var exception = guest.LastException;
        Assert.Equal((ulong)ExceptionVector.Breakpoint, exception.Vector);
        Assert.Equal(LongModeGuest.CodeAddress + 1, exception.Rip);
        Assert.Equal(1ul, exception.Count);
    }

    [Fact]
    public void Int1_delivers_a_debug_exception_that_returns_after_the_instruction()
    {
        using var guest = new LongModeGuest(a =>
        {
            a.int1();
            LongModeGuest.EmitExit(a, 7);
        });

        guest.Run();

        Assert.Equal(7u, guest.Io.ExitValue);
        Assert.Equal((ulong)ExceptionVector.Debug, guest.LastException.Vector);
        Assert.Equal(LongModeGuest.CodeAddress + 1, guest.LastException.Rip);
    }

    [Fact]
    public void Faults_push_rflags_with_resume_set_and_traps_do_not()
    {
        const ulong report = LongModeGuest.DataAddress;
        using var guest = new LongModeGuest((a, routes) =>
        {
            var invalidOpcode = a.CreateLabel();
            var breakpoint = a.CreateLabel();
            var afterFault = a.CreateLabel();
            a.ud2();
            a.Label(ref afterFault);
            a.int3();
            LongModeGuest.EmitExit(a, 7);

            a.Label(ref invalidOpcode);
            routes.Route(6, invalidOpcode);
            a.mov(rax, __qword_ptr[rsp + 16]);
            a.mov(__qword_ptr[report], rax);
            a.add(__qword_ptr[rsp], 2);
            a.iretq();

            a.Label(ref breakpoint);
            routes.Route(3, breakpoint);
            a.mov(rax, __qword_ptr[rsp + 16]);
            a.mov(__qword_ptr[report + 8], rax);
            a.pushfq();
            a.pop(rax);
            a.mov(__qword_ptr[report + 16], rax);
            a.iretq();
        });

        guest.Run();

        const ulong resume = (ulong)RflagsBits.Resume;
        Assert.Equal(7u, guest.Io.ExitValue);
        Assert.Equal(resume, guest.Memory.Read<ulong>(new GuestAddress(report)) & resume);
        Assert.Equal(0ul, guest.Memory.Read<ulong>(new GuestAddress(report + 8)) & resume);
        Assert.Equal(0ul, guest.Memory.Read<ulong>(new GuestAddress(report + 16)) & resume);
    }

    [Fact]
    public void Ud2_raises_invalid_opcode_with_the_faulting_rip()
    {
        using var guest = new LongModeGuest(a =>
        {
            var resume = a.CreateLabel();
            LongModeGuest.EmitResumeAt(a, resume);
            a.ud2();
            a.Label(ref resume);
            LongModeGuest.EmitExit(a, 7);
        });

        guest.Run();

        Assert.Equal(7u, guest.Io.ExitValue);
        Assert.Equal((ulong)ExceptionVector.InvalidOpcode, guest.LastException.Vector);
        Assert.Equal((ushort)0x0B0F, guest.Memory.Read<ushort>(new GuestAddress(guest.LastException.Rip)));
    }

    [Fact]
    public void Loading_a_selector_beyond_the_gdt_raises_general_protection_with_the_selector_as_error_code()
    {
        using var guest = new LongModeGuest(a =>
        {
            var resume = a.CreateLabel();
            LongModeGuest.EmitResumeAt(a, resume);
            a.mov(eax, 0x1233);
            a.mov(ds, ax);
            a.Label(ref resume);
            LongModeGuest.EmitExit(a, 7);
        });

        guest.Run();

        Assert.Equal(7u, guest.Io.ExitValue);
        Assert.Equal((ulong)ExceptionVector.GeneralProtection, guest.LastException.Vector);
        Assert.Equal(0x1230ul, guest.LastException.ErrorCode);
    }

    [Fact]
    public void Loading_a_not_present_data_segment_raises_segment_not_present()
    {
        using var guest = new LongModeGuest(a =>
        {
            var resume = a.CreateLabel();
            LongModeGuest.EmitResumeAt(a, resume);
            a.mov(eax, LongModeGuest.NotPresentData);
            a.mov(es, ax);
            a.Label(ref resume);
            LongModeGuest.EmitExit(a, 7);
        });

        guest.Run();

        Assert.Equal(7u, guest.Io.ExitValue);
        Assert.Equal((ulong)ExceptionVector.SegmentNotPresent, guest.LastException.Vector);
        Assert.Equal((ulong)LongModeGuest.NotPresentData, guest.LastException.ErrorCode);
    }

    [Fact]
    public void Reading_an_unmapped_page_raises_a_page_fault_with_cr2_and_a_not_present_read_error_code()
    {
        using var guest = new LongModeGuest(a =>
        {
            var resume = a.CreateLabel();
            LongModeGuest.EmitResumeAt(a, resume);
            a.mov(rbx, UnmappedAddress);
            a.mov(rax, __qword_ptr[rbx]);
            a.Label(ref resume);
            LongModeGuest.EmitExit(a, 7);
        });

        guest.Run();

        Assert.Equal(7u, guest.Io.ExitValue);
        var exception = guest.LastException;
        Assert.Equal((ulong)ExceptionVector.PageFault, exception.Vector);
        Assert.Equal(UnmappedAddress, exception.Cr2);
        Assert.Equal(0ul, exception.ErrorCode);
    }

    [Fact]
    public void Fetching_from_a_no_execute_page_raises_a_page_fault_with_the_instruction_fetch_bit()
    {
        const ulong target = LongModeGuest.DataAddress + 0x40;
        using var guest = new LongModeGuest(a =>
        {
            var resume = a.CreateLabel();
            LongModeGuest.EmitResumeAt(a, resume);
            a.mov(rax, target);
            a.jmp(rax);
            a.Label(ref resume);
            LongModeGuest.EmitExit(a, 7);
        });
        guest.SetLargePage(LongModeGuest.DataAddress, LongModeGuest.DataAddress | 0x87 | (1UL << 63));

        guest.Run();

        Assert.Equal(7u, guest.Io.ExitValue);
        var exception = guest.LastException;
        Assert.Equal((ulong)ExceptionVector.PageFault, exception.Vector);
        Assert.Equal(target, exception.Cr2);
        Assert.Equal(target, exception.Rip);
        Assert.Equal(0x11ul, exception.ErrorCode);
    }

    [Fact]
    public void A_page_fault_whose_gate_is_not_present_becomes_a_double_fault()
    {
        using var guest = new LongModeGuest(a =>
        {
            a.mov(rbx, UnmappedAddress);
            a.mov(rax, __qword_ptr[rbx]);
            LongModeGuest.EmitExit(a, 1);
        });
        ulong gate = guest.Memory.Read<ulong>(new GuestAddress(LongModeGuest.IdtAddress + (14 * 16)));
        guest.Memory.Write(new GuestAddress(LongModeGuest.IdtAddress + (14 * 16)), gate & ~(1UL << 47));
        var handler = new Iced.Intel.Assembler(64);
        LongModeGuest.EmitExit(handler, 8);
        var stream = new MemoryStream();
        handler.Assemble(new Iced.Intel.StreamCodeWriter(stream), 0x7000);
        guest.Memory.WriteBytes(new GuestAddress(0x7000), stream.ToArray());
        guest.SetInterruptGate(8, 0x7000);

        guest.Run();

        Assert.Equal(8u, guest.Io.ExitValue);
    }

    [Fact]
    public void Int_n_through_a_not_present_gate_faults_at_the_int_instruction_so_the_handler_can_retry_it()
    {
        using var guest = new LongModeGuest((a, routes) =>
        {
            var interruptHandler = a.CreateLabel();
            var notPresentHandler = a.CreateLabel();
            var intInstruction = a.CreateLabel();
            a.xor(ebx, ebx);
            a.Label(ref intInstruction);
            a.@int(0x21);
            LongModeGuest.EmitExit(a, 7);

            // #NP: record the error code and the RIP it returns to, mark the gate present, and IRET to retry the INT.
            a.Label(ref notPresentHandler);
            routes.Route(11, notPresentHandler);
            a.pop(rcx);
            a.mov(rdx, __qword_ptr[rsp]);
            a.mov(rax, LongModeGuest.IdtAddress + (0x21 * 16));
            a.bts(__qword_ptr[rax], 47);
            a.iretq();

            a.Label(ref interruptHandler);
            routes.Route(0x21, interruptHandler);
            a.inc(ebx);
            a.iretq();
        });
        guest.Memory.Write(new GuestAddress(LongModeGuest.IdtAddress + (0x21 * 16)),
            guest.Memory.Read<ulong>(new GuestAddress(LongModeGuest.IdtAddress + (0x21 * 16))) & ~(1UL << 47));

        guest.Run();

        Assert.Equal(7u, guest.Io.ExitValue);
        Assert.Equal((0x21ul * 8) + 2, guest.Cpu.Registers.Rcx);
        Assert.Equal(LongModeGuest.CodeAddress + 2, guest.Cpu.Registers.Rdx);
        Assert.Equal(1ul, guest.Cpu.Registers.Rbx);
    }

    private const ulong NonCanonical = 0xAAAA_AAAA_AAAA_AAAA;

    [Fact]
    public void A_non_canonical_address_through_rsp_or_rbp_raises_stack_fault_and_through_rax_general_protection()
    {
        ulong[] vectors = new ulong[3];
        for (int form = 0; form < 3; form++)
        {
            int chosen = form;
            using var guest = new LongModeGuest(a =>
            {
                var resume = a.CreateLabel();
                LongModeGuest.EmitResumeAt(a, resume);
                a.mov(rcx, NonCanonical);
                switch (chosen)
                {
                    case 0: a.or(__qword_ptr[rsp + rcx], 0); break;
                    case 1: a.or(__qword_ptr[rbp + rcx], 0); break;
                    default: a.or(__qword_ptr[rcx], 0); break;
                }

                a.Label(ref resume);
                LongModeGuest.EmitExit(a, 7);
            });

            guest.Run();

            Assert.Equal(7u, guest.Io.ExitValue);
            Assert.Equal(0ul, guest.LastException.ErrorCode);
            vectors[form] = guest.LastException.Vector;
        }

        Assert.Equal(
            new[] { (ulong)ExceptionVector.StackFault, (ulong)ExceptionVector.StackFault, (ulong)ExceptionVector.GeneralProtection },
            vectors);
    }

    [Fact]
    public void A_push_with_a_non_canonical_stack_pointer_raises_stack_fault()
    {
        using var guest = new LongModeGuest(a =>
        {
            var resume = a.CreateLabel();
            LongModeGuest.EmitResumeAt(a, resume);
            a.mov(rbx, rsp);
            a.mov(rsp, NonCanonical);
            a.push(rax);
            a.Label(ref resume);
            a.mov(rsp, rbx);
            LongModeGuest.EmitExit(a, 7);
        });
        // The #SS handler needs a stack of its own: IST1 in the TSS.
        guest.SetInterruptGate(12, LongModeGuest.StubAddress + (12 * LongModeGuest.StubStride), ist: 1);
        guest.Memory.Write(new GuestAddress(LongModeGuest.TssAddress + 0x24), LongModeGuest.StackTop - 0x1000);

        guest.Run();

        Assert.Equal(7u, guest.Io.ExitValue);
        Assert.Equal((ulong)ExceptionVector.StackFault, guest.LastException.Vector);
    }

    [Fact]
    public void Jumping_or_returning_to_a_non_canonical_address_faults_on_the_branch_itself()
    {
        using var guest = new LongModeGuest(a =>
        {
            var resumeJump = a.CreateLabel();
            var resumeReturn = a.CreateLabel();
            LongModeGuest.EmitResumeAt(a, resumeJump);
            a.mov(rax, NonCanonical);
            a.jmp(rax);
            a.Label(ref resumeJump);
            a.mov(r8, __qword_ptr[LongModeGuest.ExceptionLogAddress + 24]);
            LongModeGuest.EmitResumeAt(a, resumeReturn);
            a.mov(rax, NonCanonical);
            a.push(rax);
            a.mov(rsi, rsp);
            a.ret();
            a.Label(ref resumeReturn);
            a.mov(rdi, rsp);
            a.pop(rax);
            LongModeGuest.EmitExit(a, 7);
        });

        guest.Run();

        Assert.Equal(7u, guest.Io.ExitValue);
        Assert.Equal((ulong)ExceptionVector.GeneralProtection, guest.LastException.Vector);
        Assert.Equal((ushort)0xE0FF, guest.Memory.Read<ushort>(new GuestAddress(guest.Cpu.Registers[8])));
        Assert.Equal(0xC3, guest.Memory.Read<byte>(new GuestAddress(guest.LastException.Rip)));
        Assert.Equal(guest.Cpu.Registers.Rsi, guest.Cpu.Registers.Rdi);
    }

    [Fact]
    public void A_fault_with_no_usable_idt_is_a_triple_fault_that_shuts_the_cpu_down()
    {
        using var guest = new LongModeGuest(a =>
        {
            var idt = a.CreateLabel();
            a.lidt(__[idt]);
            a.ud2();
            LongModeGuest.EmitExit(a, 1);
            a.Label(ref idt);
            a.dw(0);
            a.dq(0);
        });

        var exit = guest.Run();

        Assert.Equal(VcpuExitReason.Shutdown, exit.Reason);
        Assert.Null(guest.Io.ExitValue);
    }
}

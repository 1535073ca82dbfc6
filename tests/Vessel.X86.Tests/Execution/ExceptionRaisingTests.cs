using Iced.Intel;
using Vessel.Core.Memory;
using Vessel.X86.Tests.Guests;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests.Execution;

/// <summary>Integer instructions that fault: the exception arrives through the IDT with RIP at the faulting instruction.</summary>
public class ExceptionRaisingTests
{
    /// <summary>Runs <paramref name="body"/> with a handler for <paramref name="vector"/> that saves RAX/RDX, the error code (if any) and the pushed RIP.</summary>
    private static (LongModeGuest Guest, ulong FaultingRip) RunFaulting(int vector, bool hasErrorCode, Action<Assembler> body)
    {
        Label handler = default;
        Label faulting = default;
        var guest = new LongModeGuest(a =>
        {
            handler = a.CreateLabel();
            faulting = a.CreateLabel();
            a.Label(ref faulting);
            body(a);
            a.mov(al, 0xEE);
            a.@out(0xF4, al);
            a.hlt();
            a.Label(ref handler);
            a.mov(r10, rax);
            a.mov(r11, rdx);
            if (hasErrorCode)
            {
                a.pop(r8);
            }

            a.mov(r9, __qword_ptr[rsp]);
            a.mov(al, (byte)vector);
            a.@out(0xF4, al);
            a.hlt();
        });
        guest.SetInterruptGate(vector, guest.AddressOf(handler));
        guest.Run();
        return (guest, guest.AddressOf(faulting));
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(64u)]
    [InlineData(0x4000_0000u)]
    public void Rdpmc_of_a_counter_an_intel_model_without_a_pmu_lacks_raises_general_protection(uint counter)
    {
        // kvm-unit-tests pmu: "Expected #GP on RDPMC(64)"; with CPUID.0AH zero no index is valid (SDM 2 RDPMC).
        var (guest, faulting) = RunFaulting(13, true, a =>
        {
            a.mov(ecx, counter);
            a.rdpmc();
        });
        using (guest)
        {
            Assert.Equal(13u, guest.Io.ExitValue);
            Assert.Equal(0UL, guest.Cpu.Registers[8]);
            Assert.Equal(faulting + 5, guest.Cpu.Registers[9]);
        }
    }

    [Fact]
    public void Div_by_zero_raises_divide_error_through_the_idt_and_leaves_rdx_rax_unchanged()
    {
        var (guest, _) = RunFaulting(0, false, a =>
        {
            a.mov(rax, 1234);
            a.mov(edx, 7);
            a.xor(ecx, ecx);
            a.div(rcx);
        });
        using (guest)
        {
            Assert.Equal(0u, guest.Io.ExitValue);
            Assert.Equal(1234UL, guest.Cpu.Registers[10]);
            Assert.Equal(7UL, guest.Cpu.Registers[11]);

            // The pushed RIP is the DIV itself (a fault), after the three setup instructions.
            Assert.Equal(LongModeGuest.CodeAddress + 10 + 5 + 2, guest.Cpu.Registers[9]);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Quotient_overflow_raises_divide_error(bool signed)
    {
        var (guest, _) = RunFaulting(0, false, a =>
        {
            if (signed)
            {
                a.mov(rax, long.MinValue);
                a.cqo();
                a.mov(rcx, -1L);
                a.idiv(rcx);
            }
            else
            {
                a.mov(eax, 0);
                a.mov(edx, 5);
                a.mov(ecx, 5);
                a.div(ecx);
            }
        });
        using (guest)
        {
            Assert.Equal(0u, guest.Io.ExitValue);
        }
    }

    [Fact]
    public void Misaligned_cmpxchg16b_raises_general_protection_with_error_code_zero()
    {
        var (guest, _) = RunFaulting(13, true, a =>
        {
            a.mov(rsi, LongModeGuest.DataAddress + 8);
            a.@lock.cmpxchg16b(__xmmword_ptr[rsi]);
        });
        using (guest)
        {
            Assert.Equal(13u, guest.Io.ExitValue);
            Assert.Equal(0UL, guest.Cpu.Registers[8]);
            Assert.Equal(LongModeGuest.CodeAddress + 10, guest.Cpu.Registers[9]);
        }
    }

    [Fact]
    public void Bcd_adjustments_are_invalid_in_64_bit_mode()
    {
        var (guest, _) = RunFaulting(6, false, a => a.db(0x37));
        using (guest)
        {
            Assert.Equal(6u, guest.Io.ExitValue);
        }
    }
}

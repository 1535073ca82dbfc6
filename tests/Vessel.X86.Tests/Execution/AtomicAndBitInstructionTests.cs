using Vessel.Core.Memory;
using Vessel.X86.Tests.Guests;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests.Execution;

public class AtomicAndBitInstructionTests
{
    private const ulong Data = LongModeGuest.DataAddress;

    [Fact]
    public void Lock_xadd_returns_the_old_value_and_stores_the_sum()
    {
        using var guest = new LongModeGuest(a =>
        {
            a.mov(rsi, Data);
            a.mov(__qword_ptr[rsi], 5);
            a.mov(eax, 3);
            a.@lock.xadd(__qword_ptr[rsi], rax);
            a.@out(0xF4, al);
            a.hlt();
        });

        guest.Run();

        Assert.Equal(5u, guest.Io.ExitValue);
        Assert.Equal(8UL, guest.Memory.Read<ulong>(new GuestAddress(Data)));
    }

    [Fact]
    public void Lock_cmpxchg_swaps_only_when_the_accumulator_matches()
    {
        using var guest = new LongModeGuest(a =>
        {
            a.mov(rsi, Data);
            a.mov(__dword_ptr[rsi], 10);
            a.mov(eax, 10);
            a.mov(ecx, 20);
            a.@lock.cmpxchg(__dword_ptr[rsi], ecx);
            a.setz(bl);
            a.mov(eax, 99);
            a.mov(ecx, 30);
            a.@lock.cmpxchg(__dword_ptr[rsi], ecx);
            a.setz(bh);
            a.@out(0xF4, al);
            a.hlt();
        });

        guest.Run();

        Assert.Equal(20u, guest.Io.ExitValue);
        Assert.Equal(0x01UL, guest.Cpu.Registers.Rbx & 0xFFFF);
        Assert.Equal(20u, guest.Memory.Read<uint>(new GuestAddress(Data)));
    }

    [Fact]
    public void Cmpxchg16b_on_an_aligned_operand_swaps_sixteen_bytes()
    {
        using var guest = new LongModeGuest(a =>
        {
            a.mov(rsi, Data + 0x40);
            a.mov(rax, 0x1111);
            a.mov(rdx, 0x2222);
            a.mov(rbx, 0x3333);
            a.mov(rcx, 0x4444);
            a.@lock.cmpxchg16b(__xmmword_ptr[rsi]);
            a.setz(al);
            a.@out(0xF4, al);
            a.hlt();
        });
        guest.Memory.Write(new GuestAddress(Data + 0x40), 0x1111UL);
        guest.Memory.Write(new GuestAddress(Data + 0x48), 0x2222UL);

        guest.Run();

        Assert.Equal(1u, guest.Io.ExitValue);
        Assert.Equal(0x3333UL, guest.Memory.Read<ulong>(new GuestAddress(Data + 0x40)));
        Assert.Equal(0x4444UL, guest.Memory.Read<ulong>(new GuestAddress(Data + 0x48)));
    }

    [Fact]
    public void Lock_bts_with_a_negative_register_offset_addresses_the_bit_string_below_the_operand()
    {
        using var guest = new LongModeGuest(a =>
        {
            a.mov(rsi, Data + 0x100);
            a.mov(rcx, -63L);
            a.@lock.bts(__qword_ptr[rsi], rcx);
            a.setc(al);
            a.@out(0xF4, al);
            a.hlt();
        });

        guest.Run();

        // Bit -63 is bit 1 of the quadword at -8.
        Assert.Equal(0u, guest.Io.ExitValue);
        Assert.Equal(2UL, guest.Memory.Read<ulong>(new GuestAddress(Data + 0xF8)));
    }

    [Fact]
    public void Tzcnt_executes_as_bsf_because_bmi1_is_not_advertised()
    {
        using var guest = new LongModeGuest(a =>
        {
            a.mov(rax, 0x1234);
            a.xor(ecx, ecx);
            a.tzcnt(rax, rcx);
            a.setz(bl);
            a.mov(edx, 8);
            a.tzcnt(rdx, rdx);
            a.@out(0xF4, al);
            a.hlt();
        });

        guest.Run();

        Assert.Equal(0x1234UL, guest.Cpu.Registers.Rax);
        Assert.Equal(1UL, guest.Cpu.Registers.Rbx & 0xFF);
        Assert.Equal(3UL, guest.Cpu.Registers.Rdx);
    }

    [Fact]
    public void Enter_with_a_nesting_level_copies_the_enclosing_frame_pointers()
    {
        const ulong outerFrame = LongModeGuest.StackTop - 0x100;
        using var guest = new LongModeGuest(a =>
        {
            a.mov(rbp, outerFrame);
            a.enter(16, 2);
            a.@out(0xF4, al);
            a.hlt();
        });
        guest.Memory.Write(new GuestAddress(outerFrame - 8), 0xAAAAUL);

        guest.Run();

        const ulong top = LongModeGuest.StackTop;
        Assert.Equal(outerFrame, guest.Memory.Read<ulong>(new GuestAddress(top - 8)));
        Assert.Equal(0xAAAAUL, guest.Memory.Read<ulong>(new GuestAddress(top - 16)));
        Assert.Equal(top - 8, guest.Memory.Read<ulong>(new GuestAddress(top - 24)));
        Assert.Equal(top - 8, guest.Cpu.Registers.Rbp);
        Assert.Equal(top - 24 - 16, guest.Cpu.Registers.Rsp);
    }

    [Fact]
    public void Xlat_looks_up_al_in_the_table_at_rbx()
    {
        using var guest = new LongModeGuest(a =>
        {
            a.mov(rbx, Data);
            a.mov(eax, 0xFFFF_FF05);
            a.xlatb();
            a.@out(0xF4, al);
            a.hlt();
        });
        guest.Memory.WriteBytes(new GuestAddress(Data), [10, 11, 12, 13, 14, 15, 16]);

        guest.Run();

        Assert.Equal(15u, guest.Io.ExitValue & 0xFF);
    }
}

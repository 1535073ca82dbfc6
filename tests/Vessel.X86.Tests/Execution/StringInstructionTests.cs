using Iced.Intel;
using Vessel.Core.Memory;
using Vessel.X86.Tests.Guests;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests.Execution;

public class StringInstructionTests
{
    private const ulong Source = LongModeGuest.DataAddress + 0xF80;
    private const ulong Destination = LongModeGuest.DataAddress + 0x10FC0;

    private static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static byte[] Read(LongModeGuest guest, ulong address, int length)
    {
        var bytes = new byte[length];
        guest.Memory.ReadBytes(new GuestAddress(address), bytes);
        return bytes;
    }

    [Fact]
    public void Rep_movsb_copies_forward_across_page_boundaries_and_advances_the_registers()
    {
        var data = Pattern(0x300, 1);
        using var guest = new LongModeGuest(a =>
        {
            a.mov(rsi, Source);
            a.mov(rdi, Destination);
            a.mov(ecx, data.Length);
            a.cld();
            a.rep.movsb();
            a.@out(0xF4, al);
            a.hlt();
        });
        guest.Memory.WriteBytes(new GuestAddress(Source), data);

        guest.Run();

        Assert.Equal(data, Read(guest, Destination, data.Length));
        Assert.Equal(Source + (ulong)data.Length, guest.Cpu.Registers.Rsi);
        Assert.Equal(Destination + (ulong)data.Length, guest.Cpu.Registers.Rdi);
        Assert.Equal(0UL, guest.Cpu.Registers.Rcx);
    }

    [Fact]
    public void Rep_movsq_with_the_direction_flag_set_copies_backward()
    {
        var data = Pattern(8 * 600, 2);
        const int count = 600;
        using var guest = new LongModeGuest(a =>
        {
            a.mov(rsi, Source + (8 * (count - 1)));
            a.mov(rdi, Destination + (8 * (count - 1)));
            a.mov(ecx, count);
            a.std();
            a.rep.movsq();
            a.cld();
            a.@out(0xF4, al);
            a.hlt();
        });
        guest.Memory.WriteBytes(new GuestAddress(Source), data);

        guest.Run();

        Assert.Equal(data, Read(guest, Destination, data.Length));
        Assert.Equal(Source - 8, guest.Cpu.Registers.Rsi);
        Assert.Equal(Destination - 8, guest.Cpu.Registers.Rdi);
    }

    [Fact]
    public void Backward_rep_movsb_moves_an_overlapping_buffer_up_by_one_byte()
    {
        var data = Pattern(5000, 3);
        using var guest = new LongModeGuest(a =>
        {
            a.mov(rsi, Source + (ulong)data.Length - 1);
            a.mov(rdi, Source + (ulong)data.Length);
            a.mov(ecx, data.Length);
            a.std();
            a.rep.movsb();
            a.cld();
            a.@out(0xF4, al);
            a.hlt();
        });
        guest.Memory.WriteBytes(new GuestAddress(Source), data);

        guest.Run();

        Assert.Equal(data, Read(guest, Source + 1, data.Length));
    }

    [Fact]
    public void Forward_rep_movsb_onto_the_next_byte_replicates_the_first_byte_as_the_hardware_does()
    {
        var data = Pattern(9000, 4);
        using var guest = new LongModeGuest(a =>
        {
            a.mov(rsi, Source);
            a.mov(rdi, Source + 1);
            a.mov(ecx, data.Length - 1);
            a.rep.movsb();
            a.@out(0xF4, al);
            a.hlt();
        });
        guest.Memory.WriteBytes(new GuestAddress(Source), data);

        guest.Run();

        Assert.All(Read(guest, Source, data.Length), b => Assert.Equal(data[0], b));
    }

    [Fact]
    public void A_long_rep_movsb_restarts_itself_and_completes()
    {
        var data = Pattern(300_000, 5);
        using var guest = new LongModeGuest(a =>
        {
            a.mov(rsi, Source);
            a.mov(rdi, Source + 0x100_000 + 3);
            a.mov(ecx, data.Length);
            a.rep.movsb();
            a.@out(0xF4, al);
            a.hlt();
        });
        guest.Memory.WriteBytes(new GuestAddress(Source), data);

        guest.Run();

        Assert.Equal(data, Read(guest, Source + 0x100_000 + 3, data.Length));
        Assert.Equal(0UL, guest.Cpu.Registers.Rcx);
    }

    [Fact]
    public void Rep_stosq_and_rep_stosb_fill_memory()
    {
        using var guest = new LongModeGuest(a =>
        {
            a.mov(rdi, Destination);
            a.mov(rax, 0x1122_3344_5566_7788);
            a.mov(ecx, 1000);
            a.rep.stosq();
            a.mov(al, 0x5A);
            a.mov(ecx, 13);
            a.rep.stosb();
            a.@out(0xF4, al);
            a.hlt();
        });

        guest.Run();

        var filled = Read(guest, Destination, 8013);
        for (int i = 0; i < 8000; i += 8)
        {
            Assert.Equal(0x1122_3344_5566_7788UL, BitConverter.ToUInt64(filled, i));
        }

        Assert.All(filled[8000..], b => Assert.Equal(0x5A, b));
        Assert.Equal(Destination + 8013, guest.Cpu.Registers.Rdi);
    }

    [Fact]
    public void Repne_scasb_finds_the_terminating_zero()
    {
        using var guest = new LongModeGuest(a =>
        {
            a.mov(rdi, Source);
            a.xor(eax, eax);
            a.mov(rcx, -1L);
            a.repne.scasb();
            a.not(rcx);
            a.dec(rcx);
            a.mov(rax, rcx);
            a.@out(0xF4, al);
            a.hlt();
        });
        guest.Memory.WriteBytes(new GuestAddress(Source), "hello, strings\0"u8);

        guest.Run();

        Assert.Equal(14u, guest.Io.ExitValue);
    }

    [Fact]
    public void Repe_cmpsb_stops_after_the_first_difference()
    {
        using var guest = new LongModeGuest(a =>
        {
            a.mov(rsi, Source);
            a.mov(rdi, Destination);
            a.mov(ecx, 10);
            a.repe.cmpsb();
            a.setne(al);
            a.@out(0xF4, al);
            a.hlt();
        });
        guest.Memory.WriteBytes(new GuestAddress(Source), "abcdeXghij"u8);
        guest.Memory.WriteBytes(new GuestAddress(Destination), "abcdeYghij"u8);

        guest.Run();

        Assert.Equal(1u, guest.Io.ExitValue);
        Assert.Equal(4UL, guest.Cpu.Registers.Rcx);
        Assert.Equal(Source + 6, guest.Cpu.Registers.Rsi);
    }

    [Fact]
    public void Lodsw_and_a_zero_count_rep_leave_the_expected_state()
    {
        using var guest = new LongModeGuest(a =>
        {
            a.mov(rsi, Source);
            a.lodsw();
            a.mov(rbx, rax);
            a.xor(ecx, ecx);
            a.mov(rdi, Destination);
            a.rep.stosb();
            a.@out(0xF4, al);
            a.hlt();
        });
        guest.Memory.WriteBytes(new GuestAddress(Source), [0x34, 0x12]);

        guest.Run();

        Assert.Equal(0x1234UL, guest.Cpu.Registers.Rbx & 0xFFFF);
        Assert.Equal(Source + 2, guest.Cpu.Registers.Rsi);
        Assert.Equal(Destination, guest.Cpu.Registers.Rdi);
    }

    [Fact]
    public void A_page_fault_in_the_middle_of_rep_movsb_leaves_the_registers_at_the_completed_iterations()
    {
        const ulong unmapped = 0x60_0000;
        Label handler = default;
        Label copy = default;
        using var guest = new LongModeGuest(a =>
        {
            handler = a.CreateLabel();
            copy = a.CreateLabel();
            a.mov(rsi, Source);
            a.mov(rdi, unmapped - 0x10);
            a.mov(ecx, 0x40);
            a.Label(ref copy);
            a.rep.movsb();
            a.hlt();
            a.Label(ref handler);
            a.pop(r8);
            a.mov(r9, __qword_ptr[rsp]);
            a.@out(0xF4, al);
            a.hlt();
        });
        guest.SetInterruptGate(14, guest.AddressOf(handler));
        guest.Memory.Write(new GuestAddress(LongModeGuest.PdAddress + (3 * 8)), 0UL);
        var data = Pattern(0x40, 6);
        guest.Memory.WriteBytes(new GuestAddress(Source), data);

        guest.Run();

        var registers = guest.Cpu.Registers;
        Assert.NotNull(guest.Io.ExitValue);
        Assert.Equal(guest.AddressOf(copy), registers[9]);
        Assert.Equal(2UL, registers[8]);
        Assert.Equal(0x30UL, registers.Rcx);
        Assert.Equal(unmapped, registers.Rdi);
        Assert.Equal(Source + 0x10, registers.Rsi);
        Assert.Equal(data[..0x10], Read(guest, unmapped - 0x10, 0x10));
    }

    [Fact]
    public void Rep_outsb_and_rep_insb_move_strings_through_ports()
    {
        using var guest = new LongModeGuest(a =>
        {
            a.mov(rsi, Source);
            a.mov(dx, RecordingIo.ConsolePort);
            a.mov(ecx, 6);
            a.rep.outsb();
            a.mov(dx, 0x60);
            a.mov(rdi, Destination);
            a.mov(ecx, 3);
            a.rep.insw();
            a.@out(0xF4, al);
            a.hlt();
        });
        guest.Memory.WriteBytes(new GuestAddress(Source), "vessel"u8);
        uint next = 0x100;
        guest.Io.PortReadHandler = (port, size) => port == 0x60 ? next++ : 0xFFFF_FFFF;

        guest.Run();

        Assert.Equal("vessel", guest.Io.Console);
        Assert.Equal(new byte[] { 0x00, 0x01, 0x01, 0x01, 0x02, 0x01 }, Read(guest, Destination, 6));
    }
}

using Iced.Intel;
using Vessel.Core.Memory;
using Vessel.Core.Snapshots;
using Vessel.X86.Tests.Guests;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests.Snapshots;

/// <summary>
/// A guest that counts in R13 and in memory at <see cref="LongModeGuest.DataAddress"/> while a periodic local APIC
/// timer (vector 0x41, about 1 ms) counts ticks in R12. Every step checks the memory count equals R13 before adding
/// one, so a restore that lost either shows as exit 0xEE; it exits 0x55 after <see cref="FinalTicks"/> ticks.
/// </summary>
public static class SnapshotGuest
{
    public const int FinalTicks = 8;
    public const byte Finished = 0x55;
    public const byte CountMismatch = 0xEE;

    public static LongModeGuest Create()
    {
        var guest = new LongModeGuest(Program);
        guest.MapMmioHole();
        return guest;
    }

    public static void Program(Assembler a)
    {
        var handler = a.CreateLabel();
        var loop = a.CreateLabel();
        var fail = a.CreateLabel();
        InterruptGuest.EmitGate(a, 0x41, handler);
        a.xor(r12d, r12d);
        a.xor(r13d, r13d);
        a.mov(rsi, LongModeGuest.DataAddress);
        a.mov(__qword_ptr[rsi], 0);
        a.mov(rdi, InterruptGuest.ApicBase);
        a.mov(__dword_ptr[rdi + 0xF0], 0x1FF);
        a.mov(__dword_ptr[rdi + 0x3E0], 0xB);
        a.mov(__dword_ptr[rdi + 0x320], 0x20041);
        a.mov(__dword_ptr[rdi + 0x380], 1_000_000);
        a.sti();
        a.Label(ref loop);
        a.mov(rax, __qword_ptr[rsi]);
        a.cmp(rax, r13);
        a.jne(fail);
        a.inc(r13);
        a.mov(__qword_ptr[rsi], r13);
        a.cmp(r12d, FinalTicks);
        a.jb(loop);
        LongModeGuest.EmitExit(a, Finished);
        a.Label(ref fail);
        LongModeGuest.EmitExit(a, CountMismatch);

        a.Label(ref handler);
        a.inc(r12d);
        a.mov(__dword_ptr[rdi + 0xB0], 0);
        a.iretq();
    }

    /// <summary>Runs in slices until the timer has ticked <paramref name="ticks"/> times, then leaves the vCPU parked.</summary>
    public static void RunUntilTicks(LongModeGuest guest, int ticks)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (guest.Cpu.Register(12) < (ulong)ticks)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the timer ticked {guest.Cpu.Register(12)} times in 60 s");
            Assert.Null(guest.Io.ExitValue);
            guest.Cpu.Run(20_000);
        }
    }

    public static byte[] Save(LongModeGuest guest)
    {
        var writer = new StateWriter();
        guest.Vm.SaveState(writer);
        return writer.ToArray();
    }

    /// <summary>Copies all of guest RAM from one guest to another, as a snapshot's memory file would.</summary>
    public static void CopyMemory(GuestMemory from, GuestMemory to)
    {
        const int chunk = 1 << 20;
        for (ulong address = 0; address < from.TotalSize; address += chunk)
        {
            to.WriteBytes(new GuestAddress(address), from.GetSpan(new GuestAddress(address), chunk));
        }
    }

    /// <summary>The sections of a saved state in order, each as its name and its whole bytes (header included).</summary>
    public static List<(string Name, byte[] Bytes)> Sections(byte[] data)
    {
        var reader = new StateReader(data, "test");
        var sections = new List<(string, byte[])>();
        while (!reader.AtEnd)
        {
            int start = reader.Position;
            string name = reader.ReadString();
            reader.ReadInt32();
            int length = reader.ReadInt32();
            reader.ReadRaw(length);
            sections.Add((name, data[start..reader.Position]));
        }

        return sections;
    }
}

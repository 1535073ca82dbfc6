using Iced.Intel;
using Vessel.Core.Memory;
using Vessel.X86.Cpu;
using Vessel.X86.Tests.Guests;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests.Sse;

/// <summary>
/// A <see cref="LongModeGuest"/> whose IDT sends every exception vector to a handler that reports the vector through
/// the exit port, so a test can assert which exception an instruction raised. A program that finishes normally exits
/// with <see cref="Completed"/>.
/// </summary>
public static class FaultingGuest
{
    public const byte Completed = 0xAA;
    private const ulong HandlerBase = 0x180000;

    public static LongModeGuest Create(Action<Assembler> program, ulong cr0Set = 0, ulong cr0Clear = 0, ulong cr4Set = 0, ulong cr4Clear = 0)
    {
        var guest = new LongModeGuest(a =>
        {
            program(a);
            LongModeGuest.EmitExit(a, Completed);
        });
        for (int vector = 0; vector < 32; vector++)
        {
            var handler = new Assembler(64);
            handler.mov(al, (byte)vector);
            handler.@out(0xF4, al);
            handler.hlt();
            var stream = new MemoryStream();
            ulong address = HandlerBase + ((ulong)vector * 16);
            handler.Assemble(new StreamCodeWriter(stream), address);
            guest.Memory.WriteBytes(new GuestAddress(address), stream.ToArray());
            guest.SetInterruptGate(vector, address);
        }

        var cpu = guest.Cpu;
        Assert.True(cpu.TryWriteCr4((cpu.Cr4 | (ulong)(ControlRegister4.OsFxsr | ControlRegister4.OsXmmExceptions) | cr4Set) & ~cr4Clear));
        Assert.True(cpu.TryWriteCr0((cpu.Cr0 | cr0Set) & ~cr0Clear));
        return guest;
    }

    /// <summary>Runs the guest and returns what it wrote to the exit port: a vector, or <see cref="Completed"/>.</summary>
    public static uint RunToExit(LongModeGuest guest)
    {
        guest.Run(1_000_000);
        Assert.NotNull(guest.Io.ExitValue);
        return guest.Io.ExitValue!.Value;
    }
}

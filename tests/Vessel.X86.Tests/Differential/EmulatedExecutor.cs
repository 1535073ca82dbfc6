using Vessel.Core.Accel;
using Vessel.Core.Memory;
using Vessel.X86.Tests.Guests;

namespace Vessel.X86.Tests.Differential;

/// <summary>
/// Runs one instruction on Vessel's CPU inside a <see cref="LongModeGuest"/>: the instruction is followed by
/// <c>jmp $</c>, which ends the block, and each instruction gets fresh code bytes so no decoded block is reused.
/// </summary>
public sealed class EmulatedExecutor : IDisposable
{
    private const ulong FirstCodeAddress = 0x40_0000;
    private const ulong CodeLimit = 0x3F0_0000;
    private const int CodeSlot = 32;
    private static readonly byte[] JumpToSelf = [0xEB, 0xFE];

    private readonly LongModeGuest guest = new(a => a.nop());
    private ulong nextCode = FirstCodeAddress;

    /// <summary>Returns null when the instruction retired, or a description of what happened instead.</summary>
    public string? Execute(ReadOnlySpan<byte> instruction, ref MachineState state)
    {
        if (nextCode + CodeSlot > CodeLimit)
        {
            throw new InvalidOperationException("the emulated executor ran out of code slots; create a new one");
        }

        ulong rip = nextCode;
        nextCode += CodeSlot;
        guest.Memory.WriteBytes(new GuestAddress(rip), instruction);
        guest.Memory.WriteBytes(new GuestAddress(rip + (ulong)instruction.Length), JumpToSelf);
        ulong dataAddress = LongModeGuest.DataAddress + MachineState.MemoryOffset;
        var cpu = guest.Cpu;
        unsafe
        {
            for (int i = 0; i < MachineState.RegisterCount; i++)
            {
                cpu.Register(SlotOf(i)) = state.Gpr[i];
            }

            fixed (byte* memory = state.Memory)
            {
                guest.Memory.WriteBytes(new GuestAddress(dataAddress), new ReadOnlySpan<byte>(memory, MachineState.MemorySize));
            }
        }

        cpu.Register(14) = dataAddress + MachineState.MemoryBias;
        cpu.Register(4) = LongModeGuest.StackTop;
        cpu.Rflags = state.Rflags;
        cpu.Rip = rip;
        var exit = cpu.Run(1);
        ulong expectedRip = rip + (ulong)instruction.Length;
        if (cpu.Rip != expectedRip)
        {
            return $"the instruction did not retire: exit {exit.Reason} {exit.Detail}, RIP 0x{cpu.Rip:x} instead of 0x{expectedRip:x}";
        }

        unsafe
        {
            for (int i = 0; i < MachineState.RegisterCount; i++)
            {
                state.Gpr[i] = cpu.Register(SlotOf(i));
            }

            fixed (byte* memory = state.Memory)
            {
                guest.Memory.ReadBytes(new GuestAddress(dataAddress), new Span<byte>(memory, MachineState.MemorySize));
            }
        }

        state.Rflags = cpu.Rflags;
        return null;
    }

    /// <summary>Block index to CPU register slot (ModRM numbering).</summary>
    private static int SlotOf(int index) => (int)(MachineState.Registers[index] - Iced.Intel.Register.RAX);

    public void Dispose() => guest.Dispose();
}

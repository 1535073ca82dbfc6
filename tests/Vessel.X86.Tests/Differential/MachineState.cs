using System.Runtime.InteropServices;
using Iced.Intel;

namespace Vessel.X86.Tests.Differential;

/// <summary>
/// The registers, RFLAGS and scratch memory one instruction runs on, in the layout the native stub reads and writes.
/// R14 points <see cref="MemoryBias"/> bytes into <see cref="Memory"/>, so memory operands may reach either side.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 512)]
public unsafe struct MachineState
{
    public const int RegisterCount = 10;
    public const int RflagsOffset = RegisterCount * 8;
    public const int MemoryOffset = 128;
    public const int MemorySize = 256;
    public const int MemoryBias = 128;

    /// <summary>The registers an instruction under test may use, in block order.</summary>
    public static readonly Iced.Intel.Register[] Registers =
    [
        Iced.Intel.Register.RAX, Iced.Intel.Register.RBX, Iced.Intel.Register.RCX, Iced.Intel.Register.RDX, Iced.Intel.Register.RSI,
        Iced.Intel.Register.RDI, Iced.Intel.Register.R8, Iced.Intel.Register.R9, Iced.Intel.Register.R10, Iced.Intel.Register.R11,
    ];

    public fixed ulong Gpr[RegisterCount];
    public ulong Rflags;
    private fixed ulong padding[5];
    public fixed byte Memory[MemorySize];

    /// <summary>The block index of a general register of any width (AH..BH map to their full register).</summary>
    public static int IndexOf(Iced.Intel.Register register) => Array.IndexOf(Registers, register.GetFullRegister());

    public ref ulong Register(Iced.Intel.Register register) => ref Gpr[IndexOf(register)];

    public ulong ReadMemory(int offset, int bytes)
    {
        ulong value = 0;
        for (int i = bytes - 1; i >= 0; i--)
        {
            value = (value << 8) | Memory[MemoryBias + offset + i];
        }

        return value;
    }

    public void WriteMemory(int offset, int bytes, ulong value)
    {
        for (int i = 0; i < bytes; i++)
        {
            Memory[MemoryBias + offset + i] = (byte)(value >> (8 * i));
        }
    }
}

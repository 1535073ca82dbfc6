using System.Runtime.InteropServices;

namespace Vessel.X86.Tests.Fpu;

/// <summary>
/// One x87 differential run: three stack inputs (ST0-ST2 as 80-bit values), a memory operand, the FCW and RFLAGS to
/// start with, and what came out: RFLAGS, RAX (for FNSTSW AX), and the FNSAVE image (environment and all eight
/// registers) taken right after the instruction.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
public unsafe struct X87Record
{
    public const int Size = 256;
    public const int StackOffset = 0;
    public const int MemoryOffset = 48;
    public const int ControlWordOffset = 64;
    public const int RflagsInOffset = 72;
    public const int RflagsOutOffset = 80;
    public const int RaxOffset = 88;
    public const int SaveOffset = 96;

    /// <summary>The 28-byte protected-mode environment precedes the registers in the FNSAVE image.</summary>
    public const int SaveRegistersOffset = SaveOffset + 28;

    /// <summary>ST0, ST1, ST2: 16-byte slots, 10 bytes used.</summary>
    [FieldOffset(StackOffset)]
    public fixed ulong Stack[6];

    [FieldOffset(MemoryOffset)]
    public fixed ulong Memory[2];

    [FieldOffset(ControlWordOffset)]
    public ushort ControlWord;

    [FieldOffset(RflagsInOffset)]
    public ulong RflagsIn;

    [FieldOffset(RflagsOutOffset)]
    public ulong RflagsOut;

    [FieldOffset(RaxOffset)]
    public ulong Rax;

    [FieldOffset(SaveOffset)]
    public fixed byte Save[108];
}

using System.Runtime.InteropServices;

namespace Vessel.X86.Tests.Sse;

/// <summary>The registers one differential run loads and stores, laid out as the stub and the guest address them.</summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
public unsafe struct SseRecord
{
    public const int Size = 192;
    public const int Xmm0Offset = 0;
    public const int MxcsrInOffset = 64;
    public const int MxcsrOutOffset = 68;
    public const int RflagsOutOffset = 72;
    public const int RaxOffset = 80;
    public const int RcxOffset = 88;
    public const int RflagsInOffset = 96;
    public const int Mm0Offset = 104;
    public const int RdxOffset = 120;

    /// <summary>The memory operand of memory-form instructions ([rsi+128]), 16-byte aligned, left alone by the stub.</summary>
    public const int MemoryOffset = 128;

    /// <summary>XMM0-XMM3 as eight quadwords.</summary>
    [FieldOffset(Xmm0Offset)]
    public fixed ulong Xmm[8];

    [FieldOffset(MxcsrInOffset)]
    public uint MxcsrIn;

    [FieldOffset(MxcsrOutOffset)]
    public uint MxcsrOut;

    [FieldOffset(RflagsOutOffset)]
    public ulong RflagsOut;

    [FieldOffset(RaxOffset)]
    public ulong Rax;

    [FieldOffset(RcxOffset)]
    public ulong Rcx;

    [FieldOffset(RflagsInOffset)]
    public ulong RflagsIn;

    [FieldOffset(Mm0Offset)]
    public fixed ulong Mm[2];

    [FieldOffset(RdxOffset)]
    public ulong Rdx;

    [FieldOffset(MemoryOffset)]
    public fixed ulong Memory[4];
}

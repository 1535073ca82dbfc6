using System.Buffers.Binary;

namespace Vessel.Core.Accel.State;

/// <summary>
/// Offsets in the 512-byte image of the 64-bit FXSAVE instruction (SDM 2 FXSAVE, Table 3-56), the neutral form of the
/// x87/MMX/SSE file; kvm_fpu and the first 512 bytes of an XSAVE area use the same fields.
/// </summary>
public static class FxsaveLayout
{
    public const int Size = 512;
    public const int ControlWord = 0;
    public const int StatusWord = 2;
    public const int AbridgedTagWord = 4;
    public const int Opcode = 6;
    public const int InstructionPointer = 8;
    public const int DataPointer = 16;
    public const int Mxcsr = 24;
    public const int MxcsrMask = 28;

    /// <summary>ST0-ST7, 16 bytes apart, in stack order (ST(i), not physical register i).</summary>
    public const int Registers = 32;

    /// <summary>XMM0-XMM15, 16 bytes each.</summary>
    public const int Xmm = 160;

    /// <summary>MXCSR after reset (SDM 1 §10.2.3).</summary>
    public const uint MxcsrReset = 0x1F80;

    /// <summary>The image after RESET: FCW 0x37F, every tag empty, MXCSR 0x1F80.</summary>
    public static byte[] Initial()
    {
        var image = new byte[Size];
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(ControlWord), 0x037F);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(Mxcsr), MxcsrReset);
        return image;
    }
}

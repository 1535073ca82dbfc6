namespace Vessel.X86.Cpu.Fpu;

/// <summary>
/// The x87, MMX and SSE register file, kept in native memory beside <see cref="CpuState"/> so the integer hot state
/// does not grow. XMM registers come first so each is 16-byte aligned (the block is allocated 64-byte aligned).
/// </summary>
public unsafe struct FpuState
{
    public const int XmmCount = 16;

    /// <summary>XMM0-XMM15, two little-endian quadwords each.</summary>
    public fixed ulong Xmm[XmmCount * 2];

    /// <summary>
    /// The eight physical x87 data registers R0-R7 (Intel SDM 1 §8.1.2), 16 bytes apart: quadword 2i holds the 64-bit
    /// significand (the MMX register when aliased), the low 16 bits of quadword 2i+1 the sign and exponent.
    /// </summary>
    public fixed ulong Physical[16];

    /// <summary>MXCSR (SDM 1 §10.2.3).</summary>
    public uint Mxcsr;

    /// <summary>FCW (SDM 1 §8.1.5).</summary>
    public ushort ControlWord;

    /// <summary>FSW without the TOP field, which lives in <see cref="Top"/> (SDM 1 §8.1.3).</summary>
    public ushort StatusWord;

    /// <summary>TOP: the physical register that is ST(0).</summary>
    public int Top;

    /// <summary>The abridged tag word: bit i set when physical register i is not empty (SDM 1 §10.5.1.1).</summary>
    public byte TagValid;

    /// <summary>FOP: the last non-control x87 instruction's opcode, 11 bits.</summary>
    public ushort Opcode;

    public ushort InstructionSelector;
    public ushort DataSelector;

    /// <summary>FIP and FDP: the last non-control x87 instruction's address and its memory operand's address.</summary>
    public ulong InstructionPointer;
    public ulong DataPointer;

    /// <summary>The register file after FNINIT (SDM 1 §8.1.5 Table 8-1) and MXCSR after reset (SDM 1 §10.2.3).</summary>
    public void Initialize()
    {
        fixed (ulong* xmm = Xmm)
        {
            new Span<ulong>(xmm, XmmCount * 2).Clear();
        }

        fixed (ulong* physical = Physical)
        {
            new Span<ulong>(physical, 16).Clear();
        }

        Mxcsr = MxcsrBits.ResetValue;
        InitializeX87();
    }

    /// <summary>FNINIT: FCW 0x37F, FSW 0, all tags empty, FIP/FDP/FOP cleared; data registers keep their contents.</summary>
    public void InitializeX87()
    {
        ControlWord = 0x037F;
        StatusWord = 0;
        Top = 0;
        TagValid = 0;
        Opcode = 0;
        InstructionSelector = 0;
        DataSelector = 0;
        InstructionPointer = 0;
        DataPointer = 0;
    }

    /// <summary>FSW with TOP in bits 11-13.</summary>
    public readonly ushort FullStatusWord => (ushort)((StatusWord & ~0x3800) | ((Top & 7) << 11));
}

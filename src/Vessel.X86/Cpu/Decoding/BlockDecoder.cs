using System.Runtime.CompilerServices;
using Iced.Intel;

namespace Vessel.X86.Cpu.Decoding;

/// <summary>Decodes guest code into <see cref="DecodedBlock"/>s: Iced does the decoding, we pre-resolve operands and pick handlers.</summary>
public sealed unsafe class BlockDecoder
{
    public const int MaxInstructionsPerBlock = 64;
    private const int MaxInstructionLength = 15;

    private readonly HandlerTable handlers;
    private readonly PointerCodeReader reader = new();
    private readonly Decoder decoder16;
    private readonly Decoder decoder32;
    private readonly Decoder decoder64;
    private readonly DecodedInstruction[] scratch = new DecodedInstruction[MaxInstructionsPerBlock];
    private readonly DecodedInstruction[] straddlingInstruction = new DecodedInstruction[1];
    private readonly DecodedBlock straddlingBlock16;
    private readonly DecodedBlock straddlingBlock32;
    private readonly DecodedBlock straddlingBlock64;

    public BlockDecoder(HandlerTable handlers)
    {
        this.handlers = handlers;
        decoder16 = Decoder.Create(16, reader, 0, DecoderOptions.None);
        decoder32 = Decoder.Create(32, reader, 0, DecoderOptions.None);
        decoder64 = Decoder.Create(64, reader, 0, DecoderOptions.None);
        straddlingBlock16 = new DecodedBlock(ulong.MaxValue, 16, straddlingInstruction, 1, 0);
        straddlingBlock32 = new DecodedBlock(ulong.MaxValue, 32, straddlingInstruction, 1, 0);
        straddlingBlock64 = new DecodedBlock(ulong.MaxValue, 64, straddlingInstruction, 1, 0);
    }

    /// <summary>
    /// Decodes from <paramref name="code"/> (the rest of the page: <paramref name="available"/> bytes).
    /// Returns null when the first instruction runs past the page; the caller then decodes it alone with <see cref="DecodeSingle"/>.
    /// </summary>
    public DecodedBlock? Decode(byte* code, int available, ulong rip, ulong physicalAddress, int codeBits, uint generation)
    {
        var decoder = DecoderFor(codeBits);
        reader.Reset(code, available);
        decoder.IP = rip;
        int count = 0;
        uint offset = 0;
        while (count < MaxInstructionsPerBlock)
        {
            decoder.Decode(out var instruction);
            if (decoder.LastError == DecoderError.NoMoreBytes)
            {
                if (count == 0)
                {
                    return null;
                }

                break;
            }

            offset += (uint)instruction.Length;
            Fill(ref scratch[count], in instruction, offset, codeBits);
            count++;
            if (instruction.FlowControl != FlowControl.Next || offset >= (uint)available)
            {
                break;
            }
        }

        var instructions = new DecodedInstruction[count];
        Array.Copy(scratch, instructions, count);
        return new DecodedBlock(physicalAddress, codeBits, instructions, count, generation);
    }

    /// <summary>Decodes one instruction from bytes gathered across a page boundary; such blocks are never cached.</summary>
    public DecodedBlock DecodeSingle(ReadOnlySpan<byte> bytes, ulong rip, int codeBits)
    {
        // Page-straddling instructions are decoded at every execution, so they reuse one slot rather than allocate:
        // the block runs at once and is never cached.
        var decoder = DecoderFor(codeBits);
        fixed (byte* start = bytes)
        {
            reader.Reset(start, bytes.Length);
            decoder.IP = rip;
            decoder.Decode(out var instruction);
            Fill(ref straddlingInstruction[0], in instruction, (uint)instruction.Length, codeBits);
            return codeBits switch
            {
                64 => straddlingBlock64,
                32 => straddlingBlock32,
                _ => straddlingBlock16,
            };
        }
    }

    public static int MaxLength => MaxInstructionLength;

    private Decoder DecoderFor(int codeBits) => codeBits switch
    {
        64 => decoder64,
        32 => decoder32,
        _ => decoder16,
    };

    private void Fill(ref DecodedInstruction decoded, in Instruction instruction, uint endOffset, int codeBits)
    {
        decoded = default;
        decoded.Iced = instruction;
        decoded.Length = (byte)instruction.Length;
        decoded.EndOffset = endOffset;
        decoded.LinearMask = codeBits == 64 ? ulong.MaxValue : SegmentLimits.LegacyLinearMask;
        decoded.AddressMask = ulong.MaxValue;
        decoded.BaseRegister = RegisterSlots.None;
        decoded.IndexRegister = RegisterSlots.None;
        decoded.SegmentSlot = CpuState.ZeroSegmentSlot;
        decoded.Operand0Register = RegisterSlots.None;
        decoded.Operand1Register = RegisterSlots.None;
        decoded.Operand2Register = RegisterSlots.None;

        bool hasMemory = false;
        int opCount = instruction.OpCount;
        for (int i = 0; i < opCount && i < 4; i++)
        {
            var kind = instruction.GetOpKind(i);
            switch (kind)
            {
                case OpKind.Register:
                    byte slot = RegisterSlots.Of(instruction.GetOpRegister(i));
                    if (i == 0)
                    {
                        decoded.Operand0Register = slot;
                    }
                    else if (i == 1)
                    {
                        decoded.Operand1Register = slot;
                    }
                    else if (i == 2)
                    {
                        decoded.Operand2Register = slot;
                    }

                    break;
                case OpKind.Memory:
                    hasMemory = true;
                    FillMemoryOperand(ref decoded, in instruction, codeBits);
                    break;
                case OpKind.MemorySegSI:
                case OpKind.MemorySegESI:
                case OpKind.MemorySegRSI:
                case OpKind.MemoryESDI:
                case OpKind.MemoryESEDI:
                case OpKind.MemoryESRDI:
                    FillStringOperand(ref decoded, in instruction, kind, codeBits);
                    break;
                case OpKind.NearBranch16:
                case OpKind.NearBranch32:
                case OpKind.NearBranch64:
                    // Relative to the next instruction, so the block stays valid at any virtual address; the mask is
                    // the branch's operand size (a 16-bit JMP wraps IP within 64 KiB).
                    decoded.Immediate = instruction.NearBranchTarget - instruction.NextIP;
                    decoded.AddressMask = AddressMaskFor(kind == OpKind.NearBranch16 ? 16 : kind == OpKind.NearBranch32 ? 32 : 64);
                    break;
                case OpKind.Immediate8:
                case OpKind.Immediate16:
                case OpKind.Immediate32:
                case OpKind.Immediate64:
                case OpKind.Immediate8to16:
                case OpKind.Immediate8to32:
                case OpKind.Immediate8to64:
                case OpKind.Immediate32to64:
                    decoded.Immediate = instruction.GetImmediate(i);
                    break;
            }
        }

        int operandBytes = instruction.OpCount > 0 && instruction.Op0Kind == OpKind.Register
            ? instruction.Op0Register.GetSize()
            : hasMemory ? instruction.MemorySize.GetSize() : 0;
        decoded.OperandBits = (byte)(operandBytes * 8);
        decoded.Tag = instruction.ConditionCode == ConditionCode.None ? (byte)0 : (byte)(instruction.ConditionCode - 1);
        if (instruction.HasLockPrefix)
        {
            decoded.Prefixes |= InstructionPrefixes.Lock;
        }

        if (instruction.HasRepPrefix)
        {
            decoded.Prefixes |= InstructionPrefixes.Repeat;
        }

        if (instruction.HasRepnePrefix)
        {
            decoded.Prefixes |= InstructionPrefixes.RepeatNotEqual;
        }

        decoded.StackBytes = (byte)Math.Min(Math.Abs(instruction.StackPointerIncrement), 255);
        decoded.Handler = handlers.Select(in instruction, hasMemory);
    }

    private static void FillMemoryOperand(ref DecodedInstruction decoded, in Instruction instruction, int codeBits)
    {
        var baseRegister = instruction.MemoryBase;
        var indexRegister = instruction.MemoryIndex;
        decoded.BaseRegister = RegisterSlots.Of(baseRegister);
        decoded.IndexRegister = RegisterSlots.Of(indexRegister);
        decoded.ScaleShift = (byte)System.Numerics.BitOperations.Log2((uint)instruction.MemoryIndexScale);
        bool ripRelative = baseRegister is Register.RIP or Register.EIP;
        decoded.Displacement = ripRelative
            ? (long)(instruction.MemoryDisplacement64 - instruction.NextIP)
            : (long)instruction.MemoryDisplacement64;

        int addressBytes = baseRegister != Register.None ? baseRegister.GetSize()
            : indexRegister != Register.None ? indexRegister.GetSize()
            : instruction.MemoryDisplSize is 2 or 4 or 8 ? instruction.MemoryDisplSize
            : codeBits / 8;
        decoded.AddressMask = AddressMaskFor(addressBytes * 8);

        int segment = RegisterSlots.SegmentIndex(instruction.MemorySegment);
        decoded.SegmentSlot = codeBits == 64
            ? (segment is 4 or 5 ? (byte)segment : (byte)CpuState.ZeroSegmentSlot)
            : (byte)Math.Max(segment, 0);
    }

    /// <summary>
    /// String instructions address through rSI/rDI: the mask is their address size, and the segment slot is the
    /// source's (DS or an override; the destination is always ES, SDM 1 §3.7.5).
    /// </summary>
    private static void FillStringOperand(ref DecodedInstruction decoded, in Instruction instruction, OpKind kind, int codeBits)
    {
        decoded.AddressMask = AddressMaskFor(kind switch
        {
            OpKind.MemorySegSI or OpKind.MemoryESDI => 16,
            OpKind.MemorySegESI or OpKind.MemoryESEDI => 32,
            _ => 64,
        });
        if (kind is OpKind.MemorySegSI or OpKind.MemorySegESI or OpKind.MemorySegRSI)
        {
            int segment = RegisterSlots.SegmentIndex(instruction.MemorySegment);
            decoded.SegmentSlot = codeBits == 64
                ? (segment is 4 or 5 ? (byte)segment : (byte)CpuState.ZeroSegmentSlot)
                : (byte)Math.Max(segment, 0);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong AddressMaskFor(int bits) => bits switch
    {
        16 => 0xFFFFUL,
        32 => 0xFFFF_FFFFUL,
        _ => ulong.MaxValue,
    };
}

using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Iced.Intel;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Execution.Simd;

/// <summary>
/// SSSE3 and SSE4.1/SSE4.2 integer instructions (Intel SDM 1 §12.7-12.10): byte shuffles, horizontal adds, signs and
/// absolute values, blends, 32-bit multiplies, min/max of every width, sign and zero extension, inserts and extracts,
/// PTEST, MPSADBW, PHMINPOSUW, PCMPGTQ and CRC32. Host intrinsics give the exact results where the operation takes no
/// immediate; immediate-steered ones are computed here.
/// </summary>
public static unsafe class PackedIntegerExtensions
{
    public static void Register(HandlerTable table)
    {
        PackedInteger.Both<Pshufb, PshufbMmx>(table, "Pshufb");
        PackedInteger.Both<Phaddw, Horizontal<Phaddw>>(table, "Phaddw");
        PackedInteger.Both<Phaddd, Horizontal<Phaddd>>(table, "Phaddd");
        PackedInteger.Both<Phaddsw, Horizontal<Phaddsw>>(table, "Phaddsw");
        PackedInteger.Both<Phsubw, Horizontal<Phsubw>>(table, "Phsubw");
        PackedInteger.Both<Phsubd, Horizontal<Phsubd>>(table, "Phsubd");
        PackedInteger.Both<Phsubsw, Horizontal<Phsubsw>>(table, "Phsubsw");
        PackedInteger.Both<Pmaddubsw>(table, "Pmaddubsw");
        PackedInteger.Both<Pmulhrsw>(table, "Pmulhrsw");
        PackedInteger.Both<Psignb>(table, "Psignb");
        PackedInteger.Both<Psignw>(table, "Psignw");
        PackedInteger.Both<Psignd>(table, "Psignd");
        PackedInteger.Both<Pabsb>(table, "Pabsb");
        PackedInteger.Both<Pabsw>(table, "Pabsw");
        PackedInteger.Both<Pabsd>(table, "Pabsd");
        SimdDataTransfer.Immediate<Palignr>(table, Code.Palignr_xmm_xmmm128_imm8);
        table.Add(Code.Palignr_mm_mmm64_imm8, &AlignMmx<RegisterForm>, &AlignMmx<MemoryForm>);

        PackedInteger.Xmm<Pminsb>(table, "Pminsb");
        PackedInteger.Xmm<Pmaxsb>(table, "Pmaxsb");
        PackedInteger.Xmm<Pminuw>(table, "Pminuw");
        PackedInteger.Xmm<Pmaxuw>(table, "Pmaxuw");
        PackedInteger.Xmm<Pminsd>(table, "Pminsd");
        PackedInteger.Xmm<Pmaxsd>(table, "Pmaxsd");
        PackedInteger.Xmm<Pminud>(table, "Pminud");
        PackedInteger.Xmm<Pmaxud>(table, "Pmaxud");
        PackedInteger.Xmm<Pmulld>(table, "Pmulld");
        PackedInteger.Xmm<Pmuldq>(table, "Pmuldq");
        PackedInteger.Xmm<Pcmpeqq>(table, "Pcmpeqq");
        PackedInteger.Xmm<Pcmpgtq>(table, "Pcmpgtq");
        PackedInteger.Xmm<Packusdw>(table, "Packusdw");
        PackedInteger.Xmm<Phminposuw>(table, "Phminposuw");
        table.Add(Code.Pblendvb_xmm_xmmm128, &BlendVariable<RegisterForm>, &BlendVariable<MemoryForm>);
        table.Add(Code.Blendvps_xmm_xmmm128, &BlendVariable<RegisterForm>, &BlendVariable<MemoryForm>);
        table.Add(Code.Blendvpd_xmm_xmmm128, &BlendVariable<RegisterForm>, &BlendVariable<MemoryForm>);
        SimdDataTransfer.Immediate<Pblendw>(table, Code.Pblendw_xmm_xmmm128_imm8);
        SimdDataTransfer.Immediate<Blendps>(table, Code.Blendps_xmm_xmmm128_imm8);
        SimdDataTransfer.Immediate<Blendpd>(table, Code.Blendpd_xmm_xmmm128_imm8);
        SimdDataTransfer.Immediate<Mpsadbw>(table, Code.Mpsadbw_xmm_xmmm128_imm8);

        Extend<Pmovsxbw>(table, Code.Pmovsxbw_xmm_xmmm64);
        Extend<Pmovsxbd>(table, Code.Pmovsxbd_xmm_xmmm32);
        Extend<Pmovsxbq>(table, Code.Pmovsxbq_xmm_xmmm16);
        Extend<Pmovsxwd>(table, Code.Pmovsxwd_xmm_xmmm64);
        Extend<Pmovsxwq>(table, Code.Pmovsxwq_xmm_xmmm32);
        Extend<Pmovsxdq>(table, Code.Pmovsxdq_xmm_xmmm64);
        Extend<Pmovzxbw>(table, Code.Pmovzxbw_xmm_xmmm64);
        Extend<Pmovzxbd>(table, Code.Pmovzxbd_xmm_xmmm32);
        Extend<Pmovzxbq>(table, Code.Pmovzxbq_xmm_xmmm16);
        Extend<Pmovzxwd>(table, Code.Pmovzxwd_xmm_xmmm64);
        Extend<Pmovzxwq>(table, Code.Pmovzxwq_xmm_xmmm32);
        Extend<Pmovzxdq>(table, Code.Pmovzxdq_xmm_xmmm64);

        table.Add(Code.Pinsrb_xmm_r32m8_imm8, &Insert<RegisterForm>, &Insert<MemoryForm>);
        table.Add(Code.Pinsrb_xmm_r64m8_imm8, &Insert<RegisterForm>, &Insert<MemoryForm>);
        table.Add(Code.Pinsrd_xmm_rm32_imm8, &Insert<RegisterForm>, &Insert<MemoryForm>);
        table.Add(Code.Pinsrq_xmm_rm64_imm8, &Insert<RegisterForm>, &Insert<MemoryForm>);
        foreach (var code in new[]
        {
            Code.Pextrb_r32m8_xmm_imm8, Code.Pextrb_r64m8_xmm_imm8, Code.Pextrd_rm32_xmm_imm8, Code.Pextrq_rm64_xmm_imm8,
            Code.Pextrw_r32m16_xmm_imm8, Code.Pextrw_r64m16_xmm_imm8, Code.Extractps_rm32_xmm_imm8, Code.Extractps_r64m32_xmm_imm8,
        })
        {
            table.Add(code, &Extract);
        }

        table.Add(Code.Insertps_xmm_xmmm32_imm8, &InsertSingle<RegisterForm>, &InsertSingle<MemoryForm>);
        table.Add(Code.Ptest_xmm_xmmm128, &Test<RegisterForm>, &Test<MemoryForm>);
        foreach (var code in new[] { Code.Crc32_r32_rm8, Code.Crc32_r32_rm16, Code.Crc32_r32_rm32, Code.Crc32_r64_rm8, Code.Crc32_r64_rm64 })
        {
            table.Add(code, &Crc32);
        }
    }

    private static void Extend<TOp>(HandlerTable table, Code code)
        where TOp : IVectorOperation =>
        table.Add(code, &Extension<TOp, RegisterForm>, &Extension<TOp, MemoryForm>);

    /// <summary>PMOVSX/PMOVZX read only as many source bytes as they extend (m16, m32 or m64), unaligned.</summary>
    private static void Extension<TOp, TForm>(Cpu cpu, DecodedInstruction* instruction)
        where TOp : IVectorOperation
        where TForm : IOperandForm
    {
        if (!cpu.SseAvailable())
        {
            return;
        }

        Vector128<byte> source;
        if (TForm.IsMemory)
        {
            ulong linear = instruction->LinearAddress(cpu.State);
            ulong value;
            bool ok;
            switch (instruction->Iced.MemorySize.GetSize())
            {
                case 2: ok = cpu.TryRead(linear, out ushort w); value = w; break;
                case 4: ok = cpu.TryRead(linear, out uint d); value = d; break;
                default: ok = cpu.TryRead(linear, out value); break;
            }

            if (!ok)
            {
                return;
            }

            source = Vector128.CreateScalar(value).AsByte();
        }
        else
        {
            source = *SimdOperands.Xmm(cpu, instruction->Operand1Register);
        }

        var destination = SimdOperands.Xmm(cpu, instruction->Operand0Register);
        *destination = TOp.Apply(*destination, source);
    }

    /// <summary>PBLENDVB/BLENDVPS/BLENDVPD: XMM0's sign bits (of each byte, single or double) pick the source.</summary>
    private static void BlendVariable<TForm>(Cpu cpu, DecodedInstruction* instruction)
        where TForm : IOperandForm
    {
        if (!cpu.SseAvailable() || !SimdOperands.TryReadSource<TForm>(cpu, instruction, aligned: true, out var source))
        {
            return;
        }

        var mask = *SimdOperands.Xmm(cpu, 0);
        mask = instruction->Iced.Code switch
        {
            Code.Blendvps_xmm_xmmm128 => Sse2.ShiftRightArithmetic(mask.AsInt32(), 31).AsByte(),
            Code.Blendvpd_xmm_xmmm128 => Sse2.Shuffle(Sse2.ShiftRightArithmetic(mask.AsInt32(), 31), 0xF5).AsByte(),
            _ => Sse2.CompareLessThan(mask.AsSByte(), Vector128<sbyte>.Zero).AsByte(),
        };
        var destination = SimdOperands.Xmm(cpu, instruction->Operand0Register);
        *destination = Sse2.Or(Sse2.And(mask, source), Sse2.AndNot(mask, *destination));
    }

    private static void AlignMmx<TForm>(Cpu cpu, DecodedInstruction* instruction)
        where TForm : IOperandForm
    {
        if (!cpu.MmxAvailable() || !SimdOperands.TryReadMmxSource<TForm>(cpu, instruction, out ulong source))
        {
            return;
        }

        SimdOperands.EnterMmxState(cpu);
        int shift = (byte)instruction->Immediate * 8;
        UInt128 concatenated = ((UInt128)SimdOperands.ReadMmx(cpu, instruction->Operand0Register) << 64) | source;
        SimdOperands.WriteMmx(cpu, instruction->Operand0Register, shift >= 128 ? 0 : (ulong)(concatenated >> shift));
    }

    private static void Insert<TForm>(Cpu cpu, DecodedInstruction* instruction)
        where TForm : IOperandForm
    {
        if (!cpu.SseAvailable())
        {
            return;
        }

        int bits = Cpu.MemoryOperandBits(instruction);
        ulong value;
        if (TForm.IsMemory)
        {
            if (!cpu.TryReadSized(instruction->LinearAddress(cpu.State), bits, out value))
            {
                return;
            }
        }
        else
        {
            value = cpu.State->Gpr[instruction->Operand1Register];
        }

        var destination = SimdOperands.Xmm(cpu, instruction->Operand0Register);
        int index = (byte)instruction->Immediate;
        *destination = instruction->Iced.Code switch
        {
            Code.Pinsrb_xmm_r32m8_imm8 or Code.Pinsrb_xmm_r64m8_imm8 => destination->WithElement(index & 15, (byte)value),
            Code.Pinsrd_xmm_rm32_imm8 => destination->AsUInt32().WithElement(index & 3, (uint)value).AsByte(),
            _ => destination->AsUInt64().WithElement(index & 1, value).AsByte(),
        };
    }

    /// <summary>PEXTRB/W/D/Q and EXTRACTPS: to a general register (zero-extended) or to memory of the element's size.</summary>
    private static void Extract(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!cpu.SseAvailable())
        {
            return;
        }

        var source = *SimdOperands.Xmm(cpu, instruction->Operand1Register);
        int index = (byte)instruction->Immediate;
        (ulong value, int bits) = instruction->Iced.Code switch
        {
            Code.Pextrb_r32m8_xmm_imm8 or Code.Pextrb_r64m8_xmm_imm8 => (source.GetElement(index & 15), 8),
            Code.Pextrw_r32m16_xmm_imm8 or Code.Pextrw_r64m16_xmm_imm8 => (source.AsUInt16().GetElement(index & 7), 16),
            Code.Pextrq_rm64_xmm_imm8 => (source.AsUInt64().GetElement(index & 1), 64),
            _ => ((ulong)source.AsUInt32().GetElement(index & 3), 32),
        };
        if (instruction->Iced.Op0Kind == OpKind.Memory)
        {
            cpu.TryWriteSized(instruction->LinearAddress(cpu.State), bits, value);
        }
        else
        {
            cpu.WriteRegister(instruction->Operand0Register, 64, value);
        }
    }

    /// <summary>INSERTPS: one single from the source (imm[7:6], or the m32) to lane imm[5:4], then zero the lanes of imm[3:0].</summary>
    private static void InsertSingle<TForm>(Cpu cpu, DecodedInstruction* instruction)
        where TForm : IOperandForm
    {
        if (!cpu.SseAvailable())
        {
            return;
        }

        int immediate = (byte)instruction->Immediate;
        uint value;
        if (TForm.IsMemory)
        {
            if (!cpu.TryRead(instruction->LinearAddress(cpu.State), out value))
            {
                return;
            }
        }
        else
        {
            value = SimdOperands.Xmm(cpu, instruction->Operand1Register)->AsUInt32().GetElement(immediate >> 6);
        }

        var destination = SimdOperands.Xmm(cpu, instruction->Operand0Register);
        var result = destination->AsUInt32().WithElement((immediate >> 4) & 3, value);
        for (int i = 0; i < 4; i++)
        {
            if ((immediate & (1 << i)) != 0)
            {
                result = result.WithElement(i, 0u);
            }
        }

        *destination = result.AsByte();
    }

    /// <summary>PTEST: ZF = (destination AND source) is zero, CF = (NOT destination AND source) is zero; AF, OF, PF, SF cleared.</summary>
    private static void Test<TForm>(Cpu cpu, DecodedInstruction* instruction)
        where TForm : IOperandForm
    {
        if (!cpu.SseAvailable() || !SimdOperands.TryReadSource<TForm>(cpu, instruction, aligned: true, out var source))
        {
            return;
        }

        var destination = *SimdOperands.Xmm(cpu, instruction->Operand0Register);
        ulong flags = 0;
        if (Sse2.And(destination, source) == Vector128<byte>.Zero)
        {
            flags |= (ulong)RflagsBits.Zero;
        }

        if (Sse2.AndNot(destination, source) == Vector128<byte>.Zero)
        {
            flags |= (ulong)RflagsBits.Carry;
        }

        cpu.Rflags = (cpu.Rflags & ~(ulong)RflagsBits.Arithmetic) | flags;
    }

    /// <summary>CRC32 (SSE4.2): the CRC-32C polynomial over 1, 2, 4 or 8 source bytes (SDM 2 CRC32).</summary>
    private static void Crc32(Cpu cpu, DecodedInstruction* instruction)
    {
        int bits = Cpu.OperandBitsOf(instruction, 1);
        if (!cpu.TryReadOperand(instruction, 1, out ulong data))
        {
            return;
        }

        uint crc = (uint)cpu.State->Gpr[instruction->Operand0Register];
        crc = bits switch
        {
            8 => Sse42.Crc32(crc, (byte)data),
            16 => Sse42.Crc32(crc, (ushort)data),
            32 => Sse42.Crc32(crc, (uint)data),
            _ => (uint)Sse42.X64.Crc32(crc, data),
        };
        cpu.State->Gpr[instruction->Operand0Register] = crc;
    }

    public readonly struct Pshufb : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Ssse3.Shuffle(d, s);
    }

    /// <summary>PSHUFB mm: indices take three bits, bit 7 still zeroes.</summary>
    public readonly struct PshufbMmx : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Ssse3.Shuffle(d, Sse2.And(s, Vector128.Create((byte)0x87)));
    }

    /// <summary>MMX horizontal operations: destination and source side by side in one register, then the low half.</summary>
    public readonly struct Horizontal<TOp> : IVectorOperation
        where TOp : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s)
        {
            var both = Sse2.UnpackLow(d.AsUInt64(), s.AsUInt64()).AsByte();
            return TOp.Apply(both, both);
        }
    }

    public readonly struct Phaddw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Ssse3.HorizontalAdd(d.AsInt16(), s.AsInt16()).AsByte();
    }

    public readonly struct Phaddd : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Ssse3.HorizontalAdd(d.AsInt32(), s.AsInt32()).AsByte();
    }

    public readonly struct Phaddsw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Ssse3.HorizontalAddSaturate(d.AsInt16(), s.AsInt16()).AsByte();
    }

    public readonly struct Phsubw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Ssse3.HorizontalSubtract(d.AsInt16(), s.AsInt16()).AsByte();
    }

    public readonly struct Phsubd : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Ssse3.HorizontalSubtract(d.AsInt32(), s.AsInt32()).AsByte();
    }

    public readonly struct Phsubsw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Ssse3.HorizontalSubtractSaturate(d.AsInt16(), s.AsInt16()).AsByte();
    }

    public readonly struct Pmaddubsw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Ssse3.MultiplyAddAdjacent(d, s.AsSByte()).AsByte();
    }

    public readonly struct Pmulhrsw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Ssse3.MultiplyHighRoundScale(d.AsInt16(), s.AsInt16()).AsByte();
    }

    public readonly struct Psignb : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Ssse3.Sign(d.AsSByte(), s.AsSByte()).AsByte();
    }

    public readonly struct Psignw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Ssse3.Sign(d.AsInt16(), s.AsInt16()).AsByte();
    }

    public readonly struct Psignd : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Ssse3.Sign(d.AsInt32(), s.AsInt32()).AsByte();
    }

    /// <summary>PABS*: the absolute value of the source; the destination's old value is not an input.</summary>
    public readonly struct Pabsb : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Ssse3.Abs(s.AsSByte());
    }

    public readonly struct Pabsw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Ssse3.Abs(s.AsInt16()).AsByte();
    }

    public readonly struct Pabsd : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Ssse3.Abs(s.AsInt32()).AsByte();
    }

    /// <summary>PALIGNR: the 32-byte concatenation destination:source shifted right by imm8 bytes, low 16 kept.</summary>
    public readonly struct Palignr : IVectorImmediateOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> destination, Vector128<byte> source, byte immediate)
        {
            Span<byte> bytes = stackalloc byte[48];
            bytes.Clear();
            source.CopyTo(bytes);
            destination.CopyTo(bytes[16..]);
            return immediate >= 32 ? Vector128<byte>.Zero : Vector128.Create((ReadOnlySpan<byte>)bytes.Slice(immediate, 16));
        }
    }

    public readonly struct Pminsb : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse41.Min(d.AsSByte(), s.AsSByte()).AsByte();
    }

    public readonly struct Pmaxsb : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse41.Max(d.AsSByte(), s.AsSByte()).AsByte();
    }

    public readonly struct Pminuw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse41.Min(d.AsUInt16(), s.AsUInt16()).AsByte();
    }

    public readonly struct Pmaxuw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse41.Max(d.AsUInt16(), s.AsUInt16()).AsByte();
    }

    public readonly struct Pminsd : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse41.Min(d.AsInt32(), s.AsInt32()).AsByte();
    }

    public readonly struct Pmaxsd : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse41.Max(d.AsInt32(), s.AsInt32()).AsByte();
    }

    public readonly struct Pminud : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse41.Min(d.AsUInt32(), s.AsUInt32()).AsByte();
    }

    public readonly struct Pmaxud : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse41.Max(d.AsUInt32(), s.AsUInt32()).AsByte();
    }

    public readonly struct Pmulld : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse41.MultiplyLow(d.AsInt32(), s.AsInt32()).AsByte();
    }

    public readonly struct Pmuldq : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse41.Multiply(d.AsInt32(), s.AsInt32()).AsByte();
    }

    public readonly struct Pcmpeqq : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse41.CompareEqual(d.AsInt64(), s.AsInt64()).AsByte();
    }

    public readonly struct Pcmpgtq : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse42.CompareGreaterThan(d.AsInt64(), s.AsInt64()).AsByte();
    }

    public readonly struct Packusdw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse41.PackUnsignedSaturate(d.AsInt32(), s.AsInt32()).AsByte();
    }

    public readonly struct Phminposuw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse41.MinHorizontal(s.AsUInt16()).AsByte();
    }

    public readonly struct Pmovsxbw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse41.ConvertToVector128Int16(s.AsSByte()).AsByte();
    }

    public readonly struct Pmovsxbd : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse41.ConvertToVector128Int32(s.AsSByte()).AsByte();
    }

    public readonly struct Pmovsxbq : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse41.ConvertToVector128Int64(s.AsSByte()).AsByte();
    }

    public readonly struct Pmovsxwd : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse41.ConvertToVector128Int32(s.AsInt16()).AsByte();
    }

    public readonly struct Pmovsxwq : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse41.ConvertToVector128Int64(s.AsInt16()).AsByte();
    }

    public readonly struct Pmovsxdq : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse41.ConvertToVector128Int64(s.AsInt32()).AsByte();
    }

    public readonly struct Pmovzxbw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse41.ConvertToVector128Int16(s).AsByte();
    }

    public readonly struct Pmovzxbd : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse41.ConvertToVector128Int32(s).AsByte();
    }

    public readonly struct Pmovzxbq : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse41.ConvertToVector128Int64(s).AsByte();
    }

    public readonly struct Pmovzxwd : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse41.ConvertToVector128Int32(s.AsUInt16()).AsByte();
    }

    public readonly struct Pmovzxwq : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse41.ConvertToVector128Int64(s.AsUInt16()).AsByte();
    }

    public readonly struct Pmovzxdq : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse41.ConvertToVector128Int64(s.AsUInt32()).AsByte();
    }

    /// <summary>PBLENDW: immediate bit i picks word i from the source.</summary>
    public readonly struct Pblendw : IVectorImmediateOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> destination, Vector128<byte> source, byte immediate)
        {
            var result = destination.AsUInt16();
            for (int i = 0; i < 8; i++)
            {
                if ((immediate & (1 << i)) != 0)
                {
                    result = result.WithElement(i, source.AsUInt16().GetElement(i));
                }
            }

            return result.AsByte();
        }
    }

    public readonly struct Blendps : IVectorImmediateOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> destination, Vector128<byte> source, byte immediate)
        {
            var result = destination.AsUInt32();
            for (int i = 0; i < 4; i++)
            {
                if ((immediate & (1 << i)) != 0)
                {
                    result = result.WithElement(i, source.AsUInt32().GetElement(i));
                }
            }

            return result.AsByte();
        }
    }

    public readonly struct Blendpd : IVectorImmediateOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> destination, Vector128<byte> source, byte immediate) =>
            Vector128.Create(
                ((immediate & 1) != 0 ? source : destination).AsUInt64().GetElement(0),
                ((immediate & 2) != 0 ? source : destination).AsUInt64().GetElement(1)).AsByte();
    }

    /// <summary>
    /// MPSADBW: eight sums of absolute differences between a 4-byte source block (imm[1:0] × 4) and sliding 4-byte
    /// windows of the destination starting at imm[2] × 4 (SDM 2 MPSADBW).
    /// </summary>
    public readonly struct Mpsadbw : IVectorImmediateOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> destination, Vector128<byte> source, byte immediate)
        {
            int sourceOffset = (immediate & 3) * 4;
            int destinationOffset = ((immediate >> 2) & 1) * 4;
            var result = Vector128<ushort>.Zero;
            for (int i = 0; i < 8; i++)
            {
                int sum = 0;
                for (int j = 0; j < 4; j++)
                {
                    sum += Math.Abs(destination.GetElement(destinationOffset + i + j) - source.GetElement(sourceOffset + j));
                }

                result = result.WithElement(i, (ushort)sum);
            }

            return result.AsByte();
        }
    }
}

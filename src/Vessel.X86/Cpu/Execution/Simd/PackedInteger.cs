using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Iced.Intel;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Execution.Simd;

/// <summary>
/// MMX and SSE2 packed integer instructions (Intel SDM 1 §9.4 and §11.4.3): arithmetic, saturation, multiplies, averages,
/// min/max, sums of differences, logic, shifts, compares, packs and unpacks. Each operation is the host instruction of
/// the same name through System.Runtime.Intrinsics, so the result is bit-exact by construction; MMX forms run the
/// 128-bit operation on the low quadword, except packs and high unpacks, whose 64-bit layout differs.
/// </summary>
public static unsafe class PackedInteger
{
    public static void Register(HandlerTable table)
    {
        Both<Paddb>(table, "Paddb");
        Both<Paddw>(table, "Paddw");
        Both<Paddd>(table, "Paddd");
        Both<Paddq>(table, "Paddq");
        Both<Paddsb>(table, "Paddsb");
        Both<Paddsw>(table, "Paddsw");
        Both<Paddusb>(table, "Paddusb");
        Both<Paddusw>(table, "Paddusw");
        Both<Psubb>(table, "Psubb");
        Both<Psubw>(table, "Psubw");
        Both<Psubd>(table, "Psubd");
        Both<Psubq>(table, "Psubq");
        Both<Psubsb>(table, "Psubsb");
        Both<Psubsw>(table, "Psubsw");
        Both<Psubusb>(table, "Psubusb");
        Both<Psubusw>(table, "Psubusw");
        Both<Pmullw>(table, "Pmullw");
        Both<Pmulhw>(table, "Pmulhw");
        Both<Pmulhuw>(table, "Pmulhuw");
        Both<Pmuludq>(table, "Pmuludq");
        Both<Pmaddwd>(table, "Pmaddwd");
        Both<Pavgb>(table, "Pavgb");
        Both<Pavgw>(table, "Pavgw");
        Both<Pminub>(table, "Pminub");
        Both<Pmaxub>(table, "Pmaxub");
        Both<Pminsw>(table, "Pminsw");
        Both<Pmaxsw>(table, "Pmaxsw");
        Both<Psadbw>(table, "Psadbw");
        Both<And>(table, "Pand");
        Both<AndNot>(table, "Pandn");
        Both<Or>(table, "Por");
        Both<Xor>(table, "Pxor");
        Xmm<And>(table, "Andps");
        Xmm<And>(table, "Andpd");
        Xmm<AndNot>(table, "Andnps");
        Xmm<AndNot>(table, "Andnpd");
        Xmm<Or>(table, "Orps");
        Xmm<Or>(table, "Orpd");
        Xmm<Xor>(table, "Xorps");
        Xmm<Xor>(table, "Xorpd");
        Both<Pcmpeqb>(table, "Pcmpeqb");
        Both<Pcmpeqw>(table, "Pcmpeqw");
        Both<Pcmpeqd>(table, "Pcmpeqd");
        Both<Pcmpgtb>(table, "Pcmpgtb");
        Both<Pcmpgtw>(table, "Pcmpgtw");
        Both<Pcmpgtd>(table, "Pcmpgtd");
        Both<Packsswb, PacksswbMmx>(table, "Packsswb");
        Both<Packssdw, PackssdwMmx>(table, "Packssdw");
        Both<Packuswb, PackuswbMmx>(table, "Packuswb");
        Both<Punpcklbw>(table, "Punpcklbw");
        Both<Punpcklwd>(table, "Punpcklwd");
        Both<Punpckldq>(table, "Punpckldq");
        Xmm<Punpcklqdq>(table, "Punpcklqdq");
        Both<Punpckhbw, HighHalves<Punpcklbw>>(table, "Punpckhbw");
        Both<Punpckhwd, HighHalves<Punpcklwd>>(table, "Punpckhwd");
        Both<Punpckhdq, HighHalves<Punpckldq>>(table, "Punpckhdq");
        Xmm<Punpckhqdq>(table, "Punpckhqdq");
        Xmm<Punpckldq>(table, "Unpcklps");
        Xmm<Punpckhdq>(table, "Unpckhps");
        Xmm<Punpcklqdq>(table, "Unpcklpd");
        Xmm<Punpckhqdq>(table, "Unpckhpd");

        Shift<Psllw>(table, "Psllw");
        Shift<Pslld>(table, "Pslld");
        Shift<Psllq>(table, "Psllq");
        Shift<Psrlw>(table, "Psrlw");
        Shift<Psrld>(table, "Psrld");
        Shift<Psrlq>(table, "Psrlq");
        Shift<Psraw>(table, "Psraw");
        Shift<Psrad>(table, "Psrad");
        table.Add(Code.Pslldq_xmm_imm8, &XmmShiftImmediate<Pslldq>);
        table.Add(Code.Psrldq_xmm_imm8, &XmmShiftImmediate<Psrldq>);
    }

    /// <summary>Registers the XMM forms (xmm, xmm/m128) of <paramref name="mnemonic"/>.</summary>
    public static void Xmm<TOp>(HandlerTable table, string mnemonic)
        where TOp : IVectorOperation
    {
        foreach (var (code, operands) in CodeFamily.Of(mnemonic))
        {
            if (operands == "xmm_xmmm128")
            {
                table.Add(code, &XmmBinary<TOp, RegisterForm>, &XmmBinary<TOp, MemoryForm>);
            }
        }
    }

    public static void Both<TOp>(HandlerTable table, string mnemonic)
        where TOp : IVectorOperation => Both<TOp, TOp>(table, mnemonic);

    public static void Both<TXmm, TMmx>(HandlerTable table, string mnemonic)
        where TXmm : IVectorOperation
        where TMmx : IVectorOperation
    {
        Xmm<TXmm>(table, mnemonic);
        foreach (var (code, operands) in CodeFamily.Of(mnemonic))
        {
            if (operands is "mm_mmm64" or "mm_mmm32")
            {
                table.Add(code, &MmxBinary<TMmx, RegisterForm>, &MmxBinary<TMmx, MemoryForm>);
            }
        }
    }

    private static void Shift<TOp>(HandlerTable table, string mnemonic)
        where TOp : IVectorOperation
    {
        Both<TOp>(table, mnemonic);
        foreach (var (code, operands) in CodeFamily.Of(mnemonic))
        {
            if (operands == "xmm_imm8")
            {
                table.Add(code, &XmmShiftImmediate<TOp>);
            }
            else if (operands == "mm_imm8")
            {
                table.Add(code, &MmxShiftImmediate<TOp>);
            }
        }
    }

    public static void XmmBinary<TOp, TForm>(Cpu cpu, DecodedInstruction* instruction)
        where TOp : IVectorOperation
        where TForm : IOperandForm
    {
        if (!cpu.SseAvailable() || !SimdOperands.TryReadSource<TForm>(cpu, instruction, aligned: true, out var source))
        {
            return;
        }

        var destination = SimdOperands.Xmm(cpu, instruction->Operand0Register);
        *destination = TOp.Apply(*destination, source);
    }

    public static void MmxBinary<TOp, TForm>(Cpu cpu, DecodedInstruction* instruction)
        where TOp : IVectorOperation
        where TForm : IOperandForm
    {
        if (!cpu.MmxAvailable() || !SimdOperands.TryReadMmxSource<TForm>(cpu, instruction, out ulong source))
        {
            return;
        }

        SimdOperands.EnterMmxState(cpu);
        int destination = instruction->Operand0Register;
        var result = TOp.Apply(Vector128.CreateScalar(SimdOperands.ReadMmx(cpu, destination)).AsByte(), Vector128.CreateScalar(source).AsByte());
        SimdOperands.WriteMmx(cpu, destination, result.AsUInt64().ToScalar());
    }

    private static void XmmShiftImmediate<TOp>(Cpu cpu, DecodedInstruction* instruction)
        where TOp : IVectorOperation
    {
        if (!cpu.SseAvailable())
        {
            return;
        }

        var destination = SimdOperands.Xmm(cpu, instruction->Operand0Register);
        *destination = TOp.Apply(*destination, Vector128.CreateScalar((ulong)(byte)instruction->Immediate).AsByte());
    }

    private static void MmxShiftImmediate<TOp>(Cpu cpu, DecodedInstruction* instruction)
        where TOp : IVectorOperation
    {
        if (!cpu.MmxAvailable())
        {
            return;
        }

        SimdOperands.EnterMmxState(cpu);
        int destination = instruction->Operand0Register;
        var result = TOp.Apply(Vector128.CreateScalar(SimdOperands.ReadMmx(cpu, destination)).AsByte(), Vector128.CreateScalar((ulong)(byte)instruction->Immediate).AsByte());
        SimdOperands.WriteMmx(cpu, destination, result.AsUInt64().ToScalar());
    }

    public readonly struct Paddb : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.Add(d, s);
    }

    public readonly struct Paddw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.Add(d.AsUInt16(), s.AsUInt16()).AsByte();
    }

    public readonly struct Paddd : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.Add(d.AsUInt32(), s.AsUInt32()).AsByte();
    }

    public readonly struct Paddq : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.Add(d.AsUInt64(), s.AsUInt64()).AsByte();
    }

    public readonly struct Paddsb : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.AddSaturate(d.AsSByte(), s.AsSByte()).AsByte();
    }

    public readonly struct Paddsw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.AddSaturate(d.AsInt16(), s.AsInt16()).AsByte();
    }

    public readonly struct Paddusb : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.AddSaturate(d, s);
    }

    public readonly struct Paddusw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.AddSaturate(d.AsUInt16(), s.AsUInt16()).AsByte();
    }

    public readonly struct Psubb : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.Subtract(d, s);
    }

    public readonly struct Psubw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.Subtract(d.AsUInt16(), s.AsUInt16()).AsByte();
    }

    public readonly struct Psubd : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.Subtract(d.AsUInt32(), s.AsUInt32()).AsByte();
    }

    public readonly struct Psubq : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.Subtract(d.AsUInt64(), s.AsUInt64()).AsByte();
    }

    public readonly struct Psubsb : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.SubtractSaturate(d.AsSByte(), s.AsSByte()).AsByte();
    }

    public readonly struct Psubsw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.SubtractSaturate(d.AsInt16(), s.AsInt16()).AsByte();
    }

    public readonly struct Psubusb : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.SubtractSaturate(d, s);
    }

    public readonly struct Psubusw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.SubtractSaturate(d.AsUInt16(), s.AsUInt16()).AsByte();
    }

    public readonly struct Pmullw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.MultiplyLow(d.AsInt16(), s.AsInt16()).AsByte();
    }

    public readonly struct Pmulhw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.MultiplyHigh(d.AsInt16(), s.AsInt16()).AsByte();
    }

    public readonly struct Pmulhuw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.MultiplyHigh(d.AsUInt16(), s.AsUInt16()).AsByte();
    }

    public readonly struct Pmuludq : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.Multiply(d.AsUInt32(), s.AsUInt32()).AsByte();
    }

    public readonly struct Pmaddwd : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.MultiplyAddAdjacent(d.AsInt16(), s.AsInt16()).AsByte();
    }

    public readonly struct Pavgb : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.Average(d, s);
    }

    public readonly struct Pavgw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.Average(d.AsUInt16(), s.AsUInt16()).AsByte();
    }

    public readonly struct Pminub : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.Min(d, s);
    }

    public readonly struct Pmaxub : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.Max(d, s);
    }

    public readonly struct Pminsw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.Min(d.AsInt16(), s.AsInt16()).AsByte();
    }

    public readonly struct Pmaxsw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.Max(d.AsInt16(), s.AsInt16()).AsByte();
    }

    public readonly struct Psadbw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.SumAbsoluteDifferences(d, s).AsByte();
    }

    public readonly struct And : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.And(d, s);
    }

    /// <summary>PANDN/ANDNPS: NOT destination AND source.</summary>
    public readonly struct AndNot : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.AndNot(d, s);
    }

    public readonly struct Or : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.Or(d, s);
    }

    public readonly struct Xor : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.Xor(d, s);
    }

    public readonly struct Pcmpeqb : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.CompareEqual(d, s);
    }

    public readonly struct Pcmpeqw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.CompareEqual(d.AsUInt16(), s.AsUInt16()).AsByte();
    }

    public readonly struct Pcmpeqd : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.CompareEqual(d.AsUInt32(), s.AsUInt32()).AsByte();
    }

    public readonly struct Pcmpgtb : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.CompareGreaterThan(d.AsSByte(), s.AsSByte()).AsByte();
    }

    public readonly struct Pcmpgtw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.CompareGreaterThan(d.AsInt16(), s.AsInt16()).AsByte();
    }

    public readonly struct Pcmpgtd : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.CompareGreaterThan(d.AsInt32(), s.AsInt32()).AsByte();
    }

    public readonly struct Packsswb : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.PackSignedSaturate(d.AsInt16(), s.AsInt16()).AsByte();
    }

    public readonly struct Packssdw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.PackSignedSaturate(d.AsInt32(), s.AsInt32()).AsByte();
    }

    public readonly struct Packuswb : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.PackUnsignedSaturate(d.AsInt16(), s.AsInt16());
    }

    /// <summary>The MMX packs: destination then source, each 64 bits, packed into 64 bits.</summary>
    public readonly struct PacksswbMmx : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Packsswb.Apply(Sse2.UnpackLow(d.AsUInt64(), s.AsUInt64()).AsByte(), default);
    }

    public readonly struct PackssdwMmx : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Packssdw.Apply(Sse2.UnpackLow(d.AsUInt64(), s.AsUInt64()).AsByte(), default);
    }

    public readonly struct PackuswbMmx : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Packuswb.Apply(Sse2.UnpackLow(d.AsUInt64(), s.AsUInt64()).AsByte(), default);
    }

    public readonly struct Punpcklbw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.UnpackLow(d, s);
    }

    public readonly struct Punpcklwd : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.UnpackLow(d.AsUInt16(), s.AsUInt16()).AsByte();
    }

    public readonly struct Punpckldq : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.UnpackLow(d.AsUInt32(), s.AsUInt32()).AsByte();
    }

    public readonly struct Punpcklqdq : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.UnpackLow(d.AsUInt64(), s.AsUInt64()).AsByte();
    }

    public readonly struct Punpckhbw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.UnpackHigh(d, s);
    }

    public readonly struct Punpckhwd : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.UnpackHigh(d.AsUInt16(), s.AsUInt16()).AsByte();
    }

    public readonly struct Punpckhdq : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.UnpackHigh(d.AsUInt32(), s.AsUInt32()).AsByte();
    }

    public readonly struct Punpckhqdq : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) => Sse2.UnpackHigh(d.AsUInt64(), s.AsUInt64()).AsByte();
    }

    /// <summary>MMX high unpacks: the low unpack of the upper doublewords of each 64-bit operand.</summary>
    public readonly struct HighHalves<TLow> : IVectorOperation
        where TLow : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> s) =>
            TLow.Apply(Sse2.ShiftRightLogical(d.AsUInt64(), 32).AsByte(), Sse2.ShiftRightLogical(s.AsUInt64(), 32).AsByte());
    }

    public readonly struct Psllw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> count) => Sse2.ShiftLeftLogical(d.AsUInt16(), count.AsUInt16()).AsByte();
    }

    public readonly struct Pslld : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> count) => Sse2.ShiftLeftLogical(d.AsUInt32(), count.AsUInt32()).AsByte();
    }

    public readonly struct Psllq : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> count) => Sse2.ShiftLeftLogical(d.AsUInt64(), count.AsUInt64()).AsByte();
    }

    public readonly struct Psrlw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> count) => Sse2.ShiftRightLogical(d.AsUInt16(), count.AsUInt16()).AsByte();
    }

    public readonly struct Psrld : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> count) => Sse2.ShiftRightLogical(d.AsUInt32(), count.AsUInt32()).AsByte();
    }

    public readonly struct Psrlq : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> count) => Sse2.ShiftRightLogical(d.AsUInt64(), count.AsUInt64()).AsByte();
    }

    public readonly struct Psraw : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> count) => Sse2.ShiftRightArithmetic(d.AsInt16(), count.AsInt16()).AsByte();
    }

    public readonly struct Psrad : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> count) => Sse2.ShiftRightArithmetic(d.AsInt32(), count.AsInt32()).AsByte();
    }

    /// <summary>PSLLDQ: a byte shift of the whole register; counts above 15 clear it (SDM 2 PSLLDQ).</summary>
    public readonly struct Pslldq : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> count)
        {
            int bytes = count.ToScalar();
            var value = Unsafe.BitCast<Vector128<byte>, UInt128>(d);
            return Unsafe.BitCast<UInt128, Vector128<byte>>(bytes > 15 ? UInt128.Zero : value << (bytes * 8));
        }
    }

    public readonly struct Psrldq : IVectorOperation
    {
        public static Vector128<byte> Apply(Vector128<byte> d, Vector128<byte> count)
        {
            int bytes = count.ToScalar();
            var value = Unsafe.BitCast<Vector128<byte>, UInt128>(d);
            return Unsafe.BitCast<UInt128, Vector128<byte>>(bytes > 15 ? UInt128.Zero : value >> (bytes * 8));
        }
    }
}

using Iced.Intel;

namespace Vessel.X86.Tests.Sse;

/// <summary>
/// Every SSE/SSE2 (and MMX) instruction we implement, run on the host CPU and on ours over edge-biased random inputs
/// under every rounding mode, with DAZ and FTZ on and off: results, MXCSR flags and EFLAGS must match bit for bit.
/// </summary>
public class SseDifferentialTests
{
    private const int RecordsPerInstruction = 2000;

    private static readonly string[] FloatMnemonics =
    [
        "Addps", "Addss", "Addpd", "Addsd", "Subps", "Subss", "Subpd", "Subsd", "Mulps", "Mulss", "Mulpd", "Mulsd",
        "Divps", "Divss", "Divpd", "Divsd", "Sqrtps", "Sqrtss", "Sqrtpd", "Sqrtsd", "Minps", "Minss", "Minpd", "Minsd",
        "Maxps", "Maxss", "Maxpd", "Maxsd", "Cmpps", "Cmpss", "Cmppd", "Cmpsd", "Comiss", "Ucomiss", "Comisd", "Ucomisd",
        "Andps", "Andnps", "Orps", "Xorps", "Andpd", "Andnpd", "Orpd", "Xorpd", "Shufps", "Shufpd", "Unpcklps", "Unpckhps",
        "Unpcklpd", "Unpckhpd", "Movmskps", "Movmskpd", "Movss", "Movsd", "Movhlps", "Movlhps", "Movaps", "Movups", "Movapd",
        "Movupd", "Movlps", "Movhps", "Movlpd", "Movhpd", "Movntps", "Movntpd",
    ];

    private static readonly string[] ConversionMnemonics =
    [
        "Cvtsi2ss", "Cvtsi2sd", "Cvtss2si", "Cvttss2si", "Cvtsd2si", "Cvttsd2si", "Cvtss2sd", "Cvtsd2ss", "Cvtps2pd",
        "Cvtpd2ps", "Cvtdq2ps", "Cvtps2dq", "Cvttps2dq", "Cvtdq2pd", "Cvtpd2dq", "Cvttpd2dq", "Cvtpi2ps", "Cvtps2pi",
        "Cvttps2pi", "Cvtpi2pd", "Cvtpd2pi", "Cvttpd2pi",
    ];

    private static readonly string[] IntegerMnemonics =
    [
        "Paddb", "Paddw", "Paddd", "Paddq", "Paddsb", "Paddsw", "Paddusb", "Paddusw", "Psubb", "Psubw", "Psubd", "Psubq",
        "Psubsb", "Psubsw", "Psubusb", "Psubusw", "Pmullw", "Pmulhw", "Pmulhuw", "Pmuludq", "Pmaddwd", "Pavgb", "Pavgw",
        "Pminub", "Pmaxub", "Pminsw", "Pmaxsw", "Psadbw", "Pand", "Pandn", "Por", "Pxor", "Pcmpeqb", "Pcmpeqw", "Pcmpeqd",
        "Pcmpgtb", "Pcmpgtw", "Pcmpgtd", "Packsswb", "Packssdw", "Packuswb", "Punpcklbw", "Punpcklwd", "Punpckldq",
        "Punpcklqdq", "Punpckhbw", "Punpckhwd", "Punpckhdq", "Punpckhqdq", "Psllw", "Pslld", "Psllq", "Psrlw", "Psrld",
        "Psrlq", "Psraw", "Psrad", "Pslldq", "Psrldq", "Pshufd", "Pshufhw", "Pshuflw", "Pshufw", "Pinsrw", "Pextrw",
        "Pmovmskb", "Movd", "Movq", "Movdqa", "Movdqu", "Movq2dq", "Movdq2q", "Movntdq", "Movntq", "Lddqu", "Movntdqa", "Movnti",
    ];

    private static readonly string[] ExtensionFloatMnemonics =
    [
        "Addsubps", "Addsubpd", "Haddps", "Haddpd", "Hsubps", "Hsubpd", "Movddup", "Movshdup", "Movsldup", "Roundps",
        "Roundpd", "Roundss", "Roundsd", "Dpps", "Dppd", "Blendps", "Blendpd", "Blendvps", "Blendvpd", "Insertps", "Extractps",
    ];

    private static readonly string[] ExtensionIntegerMnemonics =
    [
        "Pshufb", "Phaddw", "Phaddd", "Phaddsw", "Phsubw", "Phsubd", "Phsubsw", "Pmaddubsw", "Pmulhrsw", "Psignb", "Psignw",
        "Psignd", "Pabsb", "Pabsw", "Pabsd", "Palignr", "Pminsb", "Pmaxsb", "Pminuw", "Pmaxuw", "Pminsd", "Pmaxsd", "Pminud",
        "Pmaxud", "Pmulld", "Pmuldq", "Pcmpeqq", "Pcmpgtq", "Packusdw", "Phminposuw", "Pblendvb", "Pblendw", "Mpsadbw",
        "Pmovsxbw", "Pmovsxbd", "Pmovsxbq", "Pmovsxwd", "Pmovsxwq", "Pmovsxdq", "Pmovzxbw", "Pmovzxbd", "Pmovzxbq",
        "Pmovzxwd", "Pmovzxwq", "Pmovzxdq", "Pinsrb", "Pinsrd", "Pinsrq", "Pextrb", "Pextrd", "Pextrq", "Ptest", "Crc32",
        "Pcmpestri", "Pcmpestri64", "Pcmpestrm", "Pcmpestrm64", "Pcmpistri", "Pcmpistrm",
    ];

    private static readonly Dictionary<string, (Instruction Instruction, OperandKind Kind)> Cases = BuildCases();

    public static TheoryData<string> FloatCases => Names(FloatMnemonics);

    public static TheoryData<string> ConversionCases => Names(ConversionMnemonics);

    public static TheoryData<string> IntegerCases => Names(IntegerMnemonics);

    public static TheoryData<string> ExtensionCases => Names([.. ExtensionFloatMnemonics, .. ExtensionIntegerMnemonics]);

    [Theory]
    [MemberData(nameof(ExtensionCases))]
    public void Sse3_to_sse4_instruction_matches_the_host(string name) => Check(name);

    [Theory]
    [MemberData(nameof(FloatCases))]
    public void Floating_point_instruction_matches_the_host(string name) => Check(name);

    [Theory]
    [MemberData(nameof(ConversionCases))]
    public void Conversion_matches_the_host(string name) => Check(name);

    [Theory]
    [MemberData(nameof(IntegerCases))]
    public void Integer_instruction_matches_the_host(string name) => Check(name);

    [Theory]
    [InlineData("Rcpps")]
    [InlineData("Rcpss")]
    [InlineData("Rsqrtps")]
    [InlineData("Rsqrtss")]
    public void Reciprocal_estimates_stay_within_the_documented_error_of_the_host(string mnemonic)
    {
        foreach (var (code, _) in Codes(mnemonic))
        {
            var instruction = Instruction.Create(code, Register.XMM0, Register.XMM1);
            var inputs = new EdgeInputs(StableSeed(mnemonic)).Records(OperandKind.Single, RecordsPerInstruction);
            SseDifferential.AssertSame(mnemonic, SseDifferential.Encode(instruction), inputs, (_, host, ours) => WithinEstimateError((uint)host, (uint)ours) && WithinEstimateError((uint)(host >> 32), (uint)(ours >> 32)));
        }
    }

    /// <summary>Both within 1.5 × 2^-12 of the true value (SDM 2 RCPPS), so within 3 × 2^-12 of each other; specials exact.</summary>
    private static bool WithinEstimateError(uint host, uint ours)
    {
        if (host == ours)
        {
            return true;
        }

        float a = BitConverter.UInt32BitsToSingle(host);
        float b = BitConverter.UInt32BitsToSingle(ours);
        if (!float.IsFinite(a) || !float.IsFinite(b) || a == 0 || b == 0)
        {
            return false;
        }

        return Math.Abs(a - b) <= Math.Abs(a) * 3.0 / 4096;
    }

    private static void Check(string name)
    {
        var (instruction, kind) = Cases[name];

        // The string compares are run under all 128 control bytes, so fewer records each keep the suite quick.
        int count = kind == OperandKind.Text ? RecordsPerInstruction / 4 : RecordsPerInstruction;
        var inputs = new EdgeInputs(StableSeed(name)).Records(kind, count);
        SseDifferential.AssertSame(name, SseDifferential.Encode(instruction), inputs, HorizontalNanToleranceFor(name));
    }

    /// <summary>
    /// DPPS and DPPD leave the choice among several NaNs to the implementation (SDM: "horizontal propagation of NaNs ... is
    /// implementation dependent"), and Intel and AMD differ, so their lanes compare as NaN-or-not when both are NaN;
    /// everything else (non-NaN sums, MXCSR flags) stays bit for bit. DotProductNanTests pins our own choice.
    /// </summary>
    private static Func<int, ulong, ulong, bool>? HorizontalNanToleranceFor(string name) => name.Split(' ')[0] switch
    {
        "Dpps" => (_, host, ours) => BothNanOrEqual((uint)host, (uint)ours) && BothNanOrEqual((uint)(host >> 32), (uint)(ours >> 32)),
        "Dppd" => (_, host, ours) => double.IsNaN(BitConverter.UInt64BitsToDouble(host)) && double.IsNaN(BitConverter.UInt64BitsToDouble(ours)),
        _ => null,
    };

    private static bool BothNanOrEqual(uint host, uint ours) =>
        host == ours || (float.IsNaN(BitConverter.UInt32BitsToSingle(host)) && float.IsNaN(BitConverter.UInt32BitsToSingle(ours)));

    /// <summary>FNV-1a of the case name: string.GetHashCode is randomized per process, which made failures irreproducible.</summary>
    private static int StableSeed(string name)
    {
        uint hash = 2166136261;
        foreach (char c in name)
        {
            hash = (hash ^ c) * 16777619;
        }

        return (int)hash;
    }

    private static TheoryData<string> Names(string[] mnemonics)
    {
        var data = new TheoryData<string>();
        var set = new HashSet<string>(mnemonics, StringComparer.Ordinal);
        foreach (var (name, _) in Cases)
        {
            if (set.Contains(name.Split(' ')[0]))
            {
                data.Add(name);
            }
        }

        return data;
    }

    private static IEnumerable<(Code Code, string Operands)> Codes(string mnemonic)
    {
        string prefix = mnemonic + "_";
        foreach (var code in Enum.GetValues<Code>())
        {
            string text = code.ToString();
            if (text.StartsWith(prefix, StringComparison.Ordinal))
            {
                yield return (code, text[prefix.Length..]);
            }
        }
    }

    private static Dictionary<string, (Instruction, OperandKind)> BuildCases()
    {
        var cases = new Dictionary<string, (Instruction, OperandKind)>(StringComparer.Ordinal);
        foreach (var mnemonic in FloatMnemonics.Concat(ConversionMnemonics).Concat(IntegerMnemonics).Concat(ExtensionFloatMnemonics).Concat(ExtensionIntegerMnemonics))
        {
            foreach (var (code, operands) in Codes(mnemonic))
            {
                if (operands.Contains("m32_m32", StringComparison.Ordinal))
                {
                    continue;
                }

                var kind = KindOf(mnemonic);
                var info = code.ToOpCode();
                int[] immediates = operands.EndsWith("imm8", StringComparison.Ordinal) ? ImmediatesFor(mnemonic) : [-1];
                foreach (int immediate in immediates)
                {
                    foreach (bool memory in new[] { false, true })
                    {
                        var instruction = CreateInstruction(code, info, immediate, memory);
                        if (instruction is { } created)
                        {
                            string name = $"{mnemonic} {created}";
                            cases.TryAdd(name, (created, kind));
                        }
                    }
                }
            }
        }

        return cases;
    }

    private static int[] ImmediatesFor(string mnemonic) => mnemonic switch
    {
        "Cmpps" or "Cmpss" or "Cmppd" or "Cmpsd" => [0, 1, 2, 3, 4, 5, 6, 7],
        "Pslldq" or "Psrldq" => [0, 1, 7, 15, 16, 200],
        "Psllw" or "Pslld" or "Psllq" or "Psrlw" or "Psrld" or "Psrlq" or "Psraw" or "Psrad" => [0, 1, 7, 15, 16, 31, 32, 63, 64, 255],
        "Pinsrw" or "Pextrw" or "Pinsrb" or "Pextrb" or "Pinsrd" or "Pextrd" or "Pinsrq" or "Pextrq" or "Extractps" => [0, 1, 3, 5, 7, 9, 15],
        "Roundps" or "Roundpd" or "Roundss" or "Roundsd" => [0, 1, 2, 3, 4, 8, 9, 10, 11, 12],
        "Dpps" or "Dppd" => [0xFF, 0xF1, 0x3C, 0x71, 0xA5, 0x33],
        "Palignr" => [0, 3, 8, 15, 17, 31, 32],
        "Mpsadbw" or "Insertps" => [0, 1, 2, 3, 4, 5, 6, 7, 0x1B, 0xE4, 0x4E, 0x93, 0xC5],
        "Pcmpestri" or "Pcmpestri64" or "Pcmpestrm" or "Pcmpestrm64" or "Pcmpistri" or "Pcmpistrm" => StringCompareControls(),
        _ => [0x1B, 0xE4, 0x4E, 0x93, 0x01],
    };

    /// <summary>Every format, aggregation and polarity, with both index/mask selections.</summary>
    private static int[] StringCompareControls()
    {
        var controls = new List<int>();
        for (int control = 0; control < 0x80; control++)
        {
            controls.Add(control);
        }

        return [.. controls];
    }

    /// <summary>
    /// The instruction with XMM0/MM0/EAX as destination and XMM1/MM1/ECX as source, or, when <paramref name="memory"/>,
    /// with its r/m operand at [rsi+128] (the record's memory slot); null when the form does not exist.
    /// </summary>
    private static Instruction? CreateInstruction(Code code, OpCodeInfo info, int immediate, bool memory)
    {
        var registers = new List<Register>();
        int memoryIndex = -1;
        for (int i = 0; i < info.OpCount; i++)
        {
            string kind = info.GetOpKind(i).ToString();
            bool first = registers.Count == 0 && memoryIndex < 0;
            if (memory && (kind.EndsWith("_or_mem", StringComparison.Ordinal) || kind == "mem"))
            {
                memoryIndex = i;
                continue;
            }

            if (kind == "mem")
            {
                return null;
            }

            if (kind.StartsWith("xmm", StringComparison.Ordinal))
            {
                registers.Add(first ? Register.XMM0 : Register.XMM1);
            }
            else if (kind.StartsWith("mm", StringComparison.Ordinal))
            {
                registers.Add(first ? Register.MM0 : Register.MM1);
            }
            else if (kind.StartsWith("r32", StringComparison.Ordinal))
            {
                registers.Add(first ? Register.EAX : Register.ECX);
            }
            else if (kind.StartsWith("r64", StringComparison.Ordinal))
            {
                registers.Add(first ? Register.RAX : Register.RCX);
            }
            else if (kind.StartsWith("r8", StringComparison.Ordinal))
            {
                registers.Add(Register.CL);
            }
            else if (kind.StartsWith("r16", StringComparison.Ordinal))
            {
                registers.Add(Register.CX);
            }
            else if (kind == "imm8")
            {
                continue;
            }
            else
            {
                return null;
            }
        }

        if (memory)
        {
            if (memoryIndex < 0 || registers.Count != 1)
            {
                return null;
            }

            var operand = new MemoryOperand(Register.RSI, SseRecord.MemoryOffset);
            return (memoryIndex, immediate >= 0) switch
            {
                (0, false) => Instruction.Create(code, operand, registers[0]),
                (0, true) => Instruction.Create(code, operand, registers[0], immediate),
                (_, false) => Instruction.Create(code, registers[0], operand),
                (_, true) => Instruction.Create(code, registers[0], operand, immediate),
            };
        }

        return (registers.Count, immediate >= 0) switch
        {
            (1, true) => Instruction.Create(code, registers[0], immediate),
            (2, false) => Instruction.Create(code, registers[0], registers[1]),
            (2, true) => Instruction.Create(code, registers[0], registers[1], immediate),
            _ => null,
        };
    }

    private static OperandKind KindOf(string mnemonic)
    {
        string lower = mnemonic.ToLowerInvariant();
        if (lower.StartsWith("pcmp", StringComparison.Ordinal) && lower.Contains("str", StringComparison.Ordinal))
        {
            return OperandKind.Text;
        }

        if (lower.StartsWith("cvt", StringComparison.Ordinal))
        {
            string source = lower.Replace("cvtt", "cvt", StringComparison.Ordinal)[3..].Split('2')[0];
            return source switch
            {
                "ss" or "ps" => OperandKind.Single,
                "sd" or "pd" => OperandKind.Double,
                _ => OperandKind.Integer,
            };
        }

        if (lower.StartsWith('p') || lower.StartsWith("mov", StringComparison.Ordinal) && !lower.EndsWith("ps", StringComparison.Ordinal) && !lower.EndsWith("pd", StringComparison.Ordinal) && !lower.EndsWith("ss", StringComparison.Ordinal) && !lower.EndsWith("sd", StringComparison.Ordinal))
        {
            return OperandKind.Integer;
        }

        return lower.EndsWith("ps", StringComparison.Ordinal) || lower.EndsWith("ss", StringComparison.Ordinal) ? OperandKind.Single : OperandKind.Double;
    }
}

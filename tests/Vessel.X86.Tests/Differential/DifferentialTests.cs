using System.Numerics;
using System.Text;
using Iced.Intel;
using Vessel.X86.Cpu;
using Xunit.Abstractions;
using RflagsBits = Vessel.X86.Cpu.RflagsBits;

namespace Vessel.X86.Tests.Differential;

/// <summary>
/// Runs the same instruction bytes, on the same edge-biased random inputs, on the host CPU and on Vessel's CPU, and
/// compares every register, the scratch memory, and the RFLAGS bits the SDM defines for that instruction and input.
/// Seeds are fixed per family, so a failure reproduces.
/// </summary>
public sealed class DifferentialTests(ITestOutputHelper output)
{
    /// <summary>Given one prepared input, returns the flags defined for it, or null to skip it. It may bias the input.</summary>
    public delegate RflagsBits? CaseRule(ref Instruction instruction, ref MachineState state, Random random);

    public sealed record Family(string[] Mnemonics, CaseRule Rule, int CasesPerForm = 120, bool Lockable = false, Code[]? ExtraCodes = null, Code[]? Excluded = null);

    private const RflagsBits AllArithmetic = RflagsBits.Arithmetic;
    private const RflagsBits ResultFlags = RflagsBits.Sign | RflagsBits.Zero | RflagsBits.Parity;

    private static readonly Dictionary<string, Family> Families = new()
    {
        ["add-adc-sub-sbb-cmp"] = new(["Add", "Adc", "Sub", "Sbb", "Cmp"], All, Lockable: true),
        ["and-or-xor-test"] = new(["And", "Or", "Xor", "Test"], (ref Instruction _, ref MachineState _, Random _) => AllArithmetic & ~RflagsBits.Adjust, Lockable: true),
        ["inc-dec-neg-not"] = new(["Inc", "Dec", "Neg", "Not"], All, Lockable: true),
        ["shl-sal-shr-sar"] = new(["Shl", "Sal", "Shr", "Sar"], ShiftRule),
        ["rol-ror"] = new(["Rol", "Ror"], RotateRule),
        ["rcl-rcr"] = new(["Rcl", "Rcr"], RotateRule),
        ["shld-shrd"] = new(["Shld", "Shrd"], DoubleShiftRule),
        ["mul-imul"] = new(["Mul", "Imul"], (ref Instruction _, ref MachineState _, Random _) => RflagsBits.Carry | RflagsBits.Overflow),
        ["div-idiv"] = new(["Div", "Idiv"], DivideRule, CasesPerForm: 300),
        ["bt-bts-btr-btc"] = new(["Bt", "Bts", "Btr", "Btc"], BitTestRule, Lockable: true),
        ["bsf-bsr"] = new(["Bsf", "Bsr"], (ref Instruction _, ref MachineState _, Random _) => RflagsBits.Zero),
        ["lzcnt"] = new(["Lzcnt"], (ref Instruction _, ref MachineState _, Random _) => RflagsBits.Carry | RflagsBits.Zero),
        ["popcnt-bswap"] = new(["Popcnt", "Bswap"], All, Excluded: [Code.Bswap_r16]),
        ["cmovcc-setcc"] = new([.. Vessel.X86.Cpu.Execution.DataTransfer.ConditionMnemonics.SelectMany(m => new[] { "Cmov" + m, "Set" + m })], All, CasesPerForm: 40),
        ["movsx-movzx"] = new(["Movsx", "Movzx"], All, Excluded: [Code.Movsx_r16_rm16, Code.Movzx_r16_rm16]),
        ["xadd-cmpxchg"] = new(["Xadd", "Cmpxchg"], CompareExchangeRule, Lockable: true),
        ["cmpxchg8b-cmpxchg16b"] = new([], CompareExchangeRule, CasesPerForm: 300, Lockable: true, ExtraCodes: [Code.Cmpxchg8b_m64, Code.Cmpxchg16b_m128]),
        ["lahf-sahf-cmc-clc-stc"] = new([], All, CasesPerForm: 200, ExtraCodes: [Code.Lahf, Code.Sahf, Code.Cmc, Code.Clc, Code.Stc]),
    };

    public static TheoryData<string> FamilyNames => [.. Families.Keys];

    [Theory]
    [MemberData(nameof(FamilyNames))]
    public void Instructions_match_the_host_cpu(string familyName)
    {
        if (!NativeExecutor.Supported)
        {
            output.WriteLine("skipped: the native executor needs an x86-64 Linux host");
            return;
        }

        var family = Families[familyName];
        var codes = family.Mnemonics.SelectMany(m => Vessel.X86.Cpu.Execution.CodeFamily.Of(m).Select(c => c.Code))
            .Concat(family.ExtraCodes ?? [])
            .Where(c => !(family.Excluded ?? []).Contains(c))
            .Distinct()
            .ToArray();
        var random = new Random(StableSeed(familyName));
        using var native = new NativeExecutor();
        using var emulated = new EmulatedExecutor();
        var failures = new StringBuilder();
        int failureCount = 0;
        int executed = 0;
        foreach (var code in codes)
        {
            foreach (bool memoryForm in new[] { false, true })
            {
                if (!InstructionBuilder.CanBuild(code, memoryForm))
                {
                    continue;
                }

                for (int n = 0; n < family.CasesPerForm; n++)
                {
                    var instruction = InstructionBuilder.Build(code, memoryForm, random);
                    var input = default(MachineState);
                    Inputs.Fill(random, ref input);
                    if (family.Rule(ref instruction, ref input, random) is not { } defined)
                    {
                        continue;
                    }

                    if (family.Lockable && instruction.Op0Kind == OpKind.Memory && instruction.Mnemonic is not (Mnemonic.Cmp or Mnemonic.Test or Mnemonic.Bt) && random.Next(2) == 0)
                    {
                        instruction.HasLockPrefix = true;
                    }

                    if (InstructionBuilder.TryEncode(instruction) is not { } bytes)
                    {
                        continue;
                    }

                    var expected = input;
                    // A native fault kills the test host before any assertion; VESSEL_DIFF_TRACE=<file> names the culprit.
                    if (Environment.GetEnvironmentVariable("VESSEL_DIFF_TRACE") is { } tracePath)
                    {
                        File.AppendAllText(tracePath, $"{familyName} {instruction} {Convert.ToHexString(bytes)}\n");
                    }

                    native.Execute(bytes, ref expected);
                    var actual = input;
                    string? problem = emulated.Execute(bytes, ref actual);
                    problem ??= Compare(in expected, in actual, defined);
                    executed++;
                    if (problem != null && ++failureCount <= 8)
                    {
                        failures.AppendLine(Describe(in instruction, bytes, in input, defined, problem));
                    }
                }
            }
        }

        output.WriteLine($"{familyName}: {codes.Length} codes, {executed} cases, {failureCount} mismatches");
        Assert.True(failureCount == 0, $"{failureCount} of {executed} cases differ from the host CPU:\n{failures}");
        Assert.True(executed >= 100, $"only {executed} cases ran");
    }

    private static int StableSeed(string text)
    {
        int seed = 17;
        foreach (char c in text)
        {
            seed = (seed * 31) + c;
        }

        return seed;
    }

    private static unsafe string? Compare(in MachineState expected, in MachineState actual, RflagsBits defined)
    {
        var problems = new StringBuilder();
        for (int i = 0; i < MachineState.RegisterCount; i++)
        {
            if (expected.Gpr[i] != actual.Gpr[i])
            {
                problems.Append($" {MachineState.Registers[i]}: host 0x{expected.Gpr[i]:x} vessel 0x{actual.Gpr[i]:x};");
            }
        }

        ulong mask = (ulong)defined;
        if ((expected.Rflags & mask) != (actual.Rflags & mask))
        {
            problems.Append($" flags ({defined}): host {(RflagsBits)(expected.Rflags & mask)} vessel {(RflagsBits)(actual.Rflags & mask)};");
        }

        for (int i = 0; i < MachineState.MemorySize; i++)
        {
            if (expected.Memory[i] != actual.Memory[i])
            {
                problems.Append($" memory[{i - MachineState.MemoryBias}]: host 0x{expected.Memory[i]:x2} vessel 0x{actual.Memory[i]:x2};");
                break;
            }
        }

        return problems.Length == 0 ? null : problems.ToString();
    }

    private static unsafe string Describe(in Instruction instruction, byte[] bytes, in MachineState input, RflagsBits defined, string problem)
    {
        var text = new StringBuilder();
        text.Append($"{instruction} [{Convert.ToHexString(bytes)}] with");
        for (int i = 0; i < MachineState.RegisterCount; i++)
        {
            text.Append($" {MachineState.Registers[i]}=0x{input.Gpr[i]:x}");
        }

        text.Append($" RFLAGS=0x{input.Rflags:x} [r14]=0x{input.ReadMemory(0, 8):x}:{input.ReadMemory(8, 8):x} (comparing {defined}):{problem}");
        return text.ToString();
    }

    private static RflagsBits? All(ref Instruction instruction, ref MachineState state, Random random) => AllArithmetic;

    private static unsafe ulong ReadOperand(in Instruction instruction, int operand, in MachineState state)
    {
        if (instruction.GetOpKind(operand) == OpKind.Memory)
        {
            return state.ReadMemory(0, instruction.MemorySize.GetSize());
        }

        var register = instruction.GetOpRegister(operand);
        return ReadRegister(register, in state);
    }

    private static unsafe ulong ReadRegister(Register register, in MachineState state)
    {
        ulong full = state.Gpr[MachineState.IndexOf(register)];
        if (register is Register.AH or Register.BH or Register.CH or Register.DH)
        {
            return (full >> 8) & 0xFF;
        }

        int bits = register.GetSize() * 8;
        return bits == 64 ? full : full & ((1UL << bits) - 1);
    }

    private static unsafe void WriteLowBits(ref MachineState state, Register full, int bits, ulong value)
    {
        ref ulong target = ref state.Gpr[MachineState.IndexOf(full)];
        ulong mask = bits == 64 ? ulong.MaxValue : (1UL << bits) - 1;
        target = (target & ~mask) | (value & mask);
    }

    /// <summary>The count operand (CL or an immediate), biased toward 0, 1 and the width boundaries.</summary>
    private static int BiasCount(ref Instruction instruction, ref MachineState state, Random random, int bits)
    {
        int last = instruction.OpCount - 1;
        int[] edges = [0, 1, 2, bits - 1, bits, bits + 1, 16, 17, 31, 32, 33, 63, 64, 65];
        int count = random.Next(3) == 0 ? random.Next(256) : edges[random.Next(edges.Length)];
        if (instruction.GetOpKind(last) == OpKind.Register)
        {
            WriteLowBits(ref state, Register.RCX, 8, (ulong)count);
            return (int)ReadRegister(Register.CL, in state);
        }

        if (instruction.Code.ToString().EndsWith("_1", StringComparison.Ordinal))
        {
            return 1;
        }

        instruction.Immediate8 = (byte)count;
        return count;
    }

    private static RflagsBits? ShiftRule(ref Instruction instruction, ref MachineState state, Random random)
    {
        int bits = InstructionBuilder.OperandBits(in instruction);
        int masked = BiasCount(ref instruction, ref state, random, bits) & (bits == 64 ? 0x3F : 0x1F);
        if (masked == 0)
        {
            return AllArithmetic;
        }

        var defined = ResultFlags | RflagsBits.Carry;
        bool isShiftLeftOrLogicalRight = instruction.Mnemonic is Mnemonic.Shl or Mnemonic.Sal or Mnemonic.Shr;
        if (isShiftLeftOrLogicalRight && masked >= bits)
        {
            defined &= ~RflagsBits.Carry;
        }

        return masked == 1 ? defined | RflagsBits.Overflow : defined;
    }

    private static RflagsBits? RotateRule(ref Instruction instruction, ref MachineState state, Random random)
    {
        int bits = InstructionBuilder.OperandBits(in instruction);
        int masked = BiasCount(ref instruction, ref state, random, bits) & (bits == 64 ? 0x3F : 0x1F);
        return masked is 0 or 1 ? AllArithmetic : AllArithmetic & ~RflagsBits.Overflow;
    }

    private static RflagsBits? DoubleShiftRule(ref Instruction instruction, ref MachineState state, Random random)
    {
        int bits = InstructionBuilder.OperandBits(in instruction);
        int masked = BiasCount(ref instruction, ref state, random, bits) & (bits == 64 ? 0x3F : 0x1F);
        if (masked == 0)
        {
            return AllArithmetic;
        }

        if (masked > bits)
        {
            return null;
        }

        var defined = ResultFlags | RflagsBits.Carry;
        return masked == 1 ? defined | RflagsBits.Overflow : defined;
    }

    /// <summary>Biases the dividend so most quotients fit, then skips inputs that would raise #DE on the host.</summary>
    private static RflagsBits? DivideRule(ref Instruction instruction, ref MachineState state, Random random)
    {
        int bits = InstructionBuilder.OperandBits(in instruction);
        bool signed = instruction.Mnemonic == Mnemonic.Idiv;
        ulong mask = bits == 64 ? ulong.MaxValue : (1UL << bits) - 1;
        ulong divisor = ReadOperand(in instruction, 0, in state);
        ulong low = bits == 8 ? ReadRegister(Register.AL, in state) : ReadRegister(Register.RAX, in state) & mask;
        if (random.Next(4) != 0 && divisor != 0)
        {
            ulong high = signed
                ? ((low >> (bits - 1)) & 1) != 0 ? mask : 0
                : ((ulong)random.NextInt64() & mask) % divisor;
            if (bits == 8)
            {
                WriteLowBits(ref state, Register.RAX, 16, (high << 8) | low);
            }
            else
            {
                WriteLowBits(ref state, Register.RDX, bits, high);
            }
        }

        divisor = ReadOperand(in instruction, 0, in state);
        ulong highHalf = bits == 8 ? ReadRegister(Register.AH, in state) : ReadRegister(Register.RDX, in state) & mask;
        low = bits == 8 ? ReadRegister(Register.AL, in state) : ReadRegister(Register.RAX, in state) & mask;
        if (divisor == 0)
        {
            return null;
        }

        BigInteger dividend = (new BigInteger(highHalf) << bits) | low;
        BigInteger divisorValue = divisor;
        if (signed)
        {
            if ((highHalf >> (bits - 1) & 1) != 0)
            {
                dividend -= BigInteger.One << (2 * bits);
            }

            if ((divisor >> (bits - 1) & 1) != 0)
            {
                divisorValue -= BigInteger.One << bits;
            }
        }

        var quotient = BigInteger.Divide(dividend, divisorValue);
        bool fits = signed
            ? quotient >= -(BigInteger.One << (bits - 1)) && quotient < (BigInteger.One << (bits - 1))
            : quotient < (BigInteger.One << bits);
        return fits ? RflagsBits.None : null;
    }

    /// <summary>Register bit offsets into memory address a bit string around [R14]; keep them within the scratch buffer.</summary>
    private static RflagsBits? BitTestRule(ref Instruction instruction, ref MachineState state, Random random)
    {
        if (instruction.Op0Kind == OpKind.Memory && instruction.Op1Kind == OpKind.Register)
        {
            int bits = instruction.Op1Register.GetSize() * 8;
            WriteLowBits(ref state, instruction.Op1Register.GetFullRegister(), bits, (ulong)random.Next(-512, 512));
        }

        return RflagsBits.Carry | RflagsBits.Zero;
    }

    /// <summary>Half the inputs make the comparison succeed.</summary>
    private static RflagsBits? CompareExchangeRule(ref Instruction instruction, ref MachineState state, Random random)
    {
        if (random.Next(2) == 0)
        {
            return AllArithmetic;
        }

        switch (instruction.Code)
        {
            case Code.Cmpxchg8b_m64:
                WriteLowBits(ref state, Register.RAX, 32, state.ReadMemory(0, 4));
                WriteLowBits(ref state, Register.RDX, 32, state.ReadMemory(4, 4));
                break;
            case Code.Cmpxchg16b_m128:
                WriteLowBits(ref state, Register.RAX, 64, state.ReadMemory(0, 8));
                WriteLowBits(ref state, Register.RDX, 64, state.ReadMemory(8, 8));
                break;
            default:
                if (instruction.Mnemonic == Mnemonic.Cmpxchg)
                {
                    int bits = InstructionBuilder.OperandBits(in instruction);
                    WriteLowBits(ref state, Register.RAX, bits, ReadOperand(in instruction, 0, in state));
                }

                break;
        }

        return AllArithmetic;
    }
}

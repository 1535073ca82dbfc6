using Iced.Intel;
using Vessel.X86.Tests.Guests;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests.Jit;

/// <summary>
/// The inline forms that read or partly keep the flag record before them (INC/DEC's carried CF, ADC and SBB's carry in,
/// ROL/ROR's kept SF, ZF, AF and PF, shifts by CL that keep the record when the count is zero) and the inline 64-bit IMUL, against the interpreter with random operands: every kind of flag producer
/// before them, in the same block (the record known when compiling) and in the block before (read at run time).
/// </summary>
public class CompilingTierFlagFormTests
{
    public static TheoryData<int> Seeds() => [1, 2, 3, 4];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Inc_and_dec_carry_the_carry_flag_of_every_kind_of_producer_before_them(int seed)
    {
        using var pair = RandomPair(seed, 160, (a, random) =>
        {
            EmitProducerInThisOrTheBlockBefore(a, random);

            EmitIncDec(a, random);

            // CF (and the rest) into R12, so a wrong carry shows in a register as well as in RFLAGS.
            a.adc(r12, rcx);
            a.rcl(r12, 1);
        });

        RunAndCompare(pair);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Adc_and_sbb_of_every_form_take_the_carry_of_every_kind_of_producer(int seed)
    {
        using var pair = RandomPair(seed, 200, (a, random) =>
        {
            int offset = random.Next(0, 256) * 8;
            a.mov(__qword_ptr[rdi + offset], rdx);
            EmitProducerInThisOrTheBlockBefore(a, random);

            int immediate = (int)RandomValue(random);
            bool add = random.Next(2) == 0;
            switch (random.Next(8))
            {
                case 0: if (add) { a.adc(rcx, rbx); } else { a.sbb(rcx, rbx); } break;
                case 1: if (add) { a.adc(ecx, immediate); } else { a.sbb(ecx, immediate); } break;
                case 2: if (add) { a.adc(cx, bx); } else { a.sbb(cx, bx); } break;
                case 3: if (add) { a.adc(cl, bh); } else { a.sbb(cl, bh); } break;
                case 4: if (add) { a.adc(rcx, __qword_ptr[rdi + offset]); } else { a.sbb(rcx, __qword_ptr[rdi + offset]); } break;
                case 5: if (add) { a.adc(__dword_ptr[rdi + offset], ecx); } else { a.sbb(__dword_ptr[rdi + offset], ecx); } break;
                case 6: if (add) { a.adc(__qword_ptr[rdi + offset], immediate); } else { a.sbb(__qword_ptr[rdi + offset], immediate); } break;
                default:
                    // A chain, as a checksum loop runs it.
                    a.adc(rcx, rbx);
                    a.adc(rcx, rax);
                    a.sbb(ecx, edx);
                    break;
            }

            switch (random.Next(3))
            {
                case 0:
                    a.setb(r12b);
                    a.rcl(r12, 1);
                    break;
                case 1:
                    a.pushfq();
                    a.pop(r13);
                    a.add(r12, r13);
                    break;
                default:
                    a.adc(r12, rcx);
                    break;
            }
        });

        RunAndCompare(pair);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Rol_and_ror_by_an_immediate_keep_the_other_flags_of_every_kind_of_producer(int seed)
    {
        using var pair = RandomPair(seed, 160, (a, random) =>
        {
            EmitProducerInThisOrTheBlockBefore(a, random);

            EmitRotate(a, random);
            switch (random.Next(4))
            {
                case 0:
                    // Flags dead: the ADD replaces them all.
                    a.add(r12, rdx);
                    break;
                case 1:
                    a.pushfq();
                    a.pop(r13);
                    a.add(r12, r13);
                    break;
                case 2:
                    a.seto(r12b);
                    a.rcl(r12, 1);
                    break;
                default:
                    a.adc(r12, rbx);
                    break;
            }
        });

        RunAndCompare(pair);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Shifts_by_cl_of_every_width_and_count_leave_the_flags_as_the_interpreter(int seed)
    {
        using var pair = RandomPair(seed, 200, (a, random) =>
        {
            EmitProducerInThisOrTheBlockBefore(a, random);

            // Counts of zero (flags kept), within the width, and past it (masked, or all bits out of a narrow one).
            a.mov(ecx, random.Next(3) == 0 ? random.Next(0, 3) * 32 : random.Next(0, 256));
            int kind = random.Next(3);
            var (register, width) = random.Next(5) switch
            {
                0 => (Register.AL, 0),
                1 => (Register.BH, 0),
                2 => (Register.DX, 1),
                3 => (Register.EBX, 2),
                _ => (Register.RAX, 3),
            };
            a.AddInstruction(Instruction.Create(ShiftsByCl[width, kind], register, Register.CL));

            switch (random.Next(3))
            {
                case 0:
                    a.pushfq();
                    a.pop(r13);
                    a.add(r12, r13);
                    break;
                case 1:
                    a.adc(r12, rax);
                    break;
                default:
                    a.seto(r12b);
                    a.rcl(r12, 1);
                    break;
            }
        });

        RunAndCompare(pair);
    }

    /// <summary>SHL, SHR and SAR by CL (columns) at 8, 16, 32 and 64 bits (rows).</summary>
    private static readonly Code[,] ShiftsByCl =
    {
        { Code.Shl_rm8_CL, Code.Shr_rm8_CL, Code.Sar_rm8_CL },
        { Code.Shl_rm16_CL, Code.Shr_rm16_CL, Code.Sar_rm16_CL },
        { Code.Shl_rm32_CL, Code.Shr_rm32_CL, Code.Sar_rm32_CL },
        { Code.Shl_rm64_CL, Code.Shr_rm64_CL, Code.Sar_rm64_CL },
    };

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Imul_of_every_width_and_form_sets_the_product_and_cf_and_of_as_the_interpreter(int seed)
    {
        using var pair = RandomPair(seed, 200, (a, random) =>
        {
            int offset = random.Next(0, 256) * 8;
            a.mov(__qword_ptr[rdi + offset], rdx);
            int immediate = (int)RandomValue(random);
            switch (random.Next(12))
            {
                case 0: a.imul(rax, rbx); break;
                case 1: a.imul(rax, rbx, immediate); break;
                case 2: a.imul(rax, __qword_ptr[rdi + offset]); break;
                case 3: a.imul(rax, __qword_ptr[rdi + offset], immediate); break;
                case 4: a.imul(eax, ebx); break;
                case 5: a.imul(eax, ebx, immediate); break;
                case 6: a.imul(eax, __dword_ptr[rdi + offset]); break;
                case 7: a.imul(eax, __dword_ptr[rdi + offset], immediate); break;
                case 8: a.imul(ax, bx); break;
                case 9: a.imul(ax, bx, (short)immediate); break;
                case 10: a.imul(ax, __word_ptr[rdi + offset]); break;
                default: a.imul(ax, __word_ptr[rdi + offset], (short)immediate); break;
            }

            switch (random.Next(3))
            {
                case 0:
                    a.seto(r12b);
                    a.rcl(r12, 1);
                    break;
                case 1:
                    a.adc(r12, rax);
                    break;
                default:
                    // The block ends with the IMUL's record live.
                    EndBlock(a);
                    a.add(r12, rax);
                    break;
            }
        });

        RunAndCompare(pair);
    }

    /// <summary>
    /// The differential pair for a random program: RDI at the data page, R12 (where the tests gather flags) cleared, then
    /// <paramref name="steps"/> steps, each fresh random operands (<see cref="LoadRandom"/>) and <paramref name="step"/>,
    /// with the seed's random numbers, then the exit.
    /// </summary>
    private static TierPair RandomPair(int seed, int steps, Action<Assembler, Random> step) => new((a, _) =>
    {
        var random = new Random(seed);
        a.mov(rdi, LongModeGuest.DataAddress);
        a.xor(r12d, r12d);
        for (int i = 0; i < steps; i++)
        {
            LoadRandom(a, random);
            step(a, random);
        }

        LongModeGuest.EmitExit(a, 7);
    });

    /// <summary>Runs both tiers to the exit, comparing after every block, and checks that code did run compiled.</summary>
    private static void RunAndCompare(TierPair pair)
    {
        pair.RunToExit();

        Assert.Equal(7u, pair.Compiled.Io.ExitValue);
        Assert.True(pair.Compiled.Cpu.CompiledBlockRuns > 0, "no block ran compiled");
    }

    /// <summary>A flag producer of a random kind, half the time ending its block, so what follows reads a record it did not see written.</summary>
    private static void EmitProducerInThisOrTheBlockBefore(Assembler a, Random random)
    {
        EmitProducer(a, random, random.Next(Producers));
        if (random.Next(2) == 0)
        {
            EndBlock(a);
        }
    }

    /// <summary>A jump to the next instruction: it ends the block.</summary>
    private static void EndBlock(Assembler a)
    {
        var next = a.CreateLabel();
        a.jmp(next);
        a.Label(ref next);
    }

    private const int Producers = 18;

    /// <summary>Sets the flags by one of <see cref="Producers"/> kinds of instruction, on RAX, RBX and RDX.</summary>
    private static void EmitProducer(Assembler a, Random random, int kind)
    {
        switch (kind)
        {
            case 0: a.add(rax, rbx); break;
            case 1: a.add(eax, ebx); break;
            case 2: a.sub(ax, bx); break;
            case 3: a.cmp(al, bl); break;
            case 4: a.cmp(rax, rbx); break;
            case 5: a.xor(eax, ebx); break;
            case 6: a.and(rax, rbx); break;
            case 7: a.inc(bl); break;
            case 8: a.dec(rbx); break;
            case 9: a.shl(rax, (byte)random.Next(1, 64)); break;
            case 10: a.shr(edx, (byte)random.Next(1, 32)); break;
            case 11: a.imul(rax, rbx); break;
            case 12: a.adc(rax, rbx); break;
            case 13: a.sbb(eax, ebx); break;
            case 14: a.neg(rdx); break;
            case 15:
                // Flags materialized in RFLAGS.
                a.push(rdx);
                a.popfq();
                break;
            case 16: a.rol(rax, (byte)random.Next(1, 64)); break;
            default: a.cmp(rax, __qword_ptr[rdi + (random.Next(0, 64) * 8)]); break;
        }
    }

    private static void EmitIncDec(Assembler a, Random random)
    {
        bool increment = random.Next(2) == 0;
        switch (random.Next(4))
        {
            case 0: if (increment) { a.inc(cl); } else { a.dec(cl); } break;
            case 1: if (increment) { a.inc(cx); } else { a.dec(cx); } break;
            case 2: if (increment) { a.inc(ecx); } else { a.dec(ecx); } break;
            default: if (increment) { a.inc(rcx); } else { a.dec(rcx); } break;
        }
    }

    private static void EmitRotate(Assembler a, Random random)
    {
        bool left = random.Next(2) == 0;
        byte count = (byte)(random.Next(3) == 0 ? random.Next(0, 3) : random.Next(0, 70));
        switch (random.Next(5))
        {
            case 0: if (left) { a.rol(cl, count); } else { a.ror(cl, count); } break;
            case 1: if (left) { a.rol(ch, count); } else { a.ror(ch, count); } break;
            case 2: if (left) { a.rol(cx, count); } else { a.ror(cx, count); } break;
            case 3: if (left) { a.rol(ecx, count); } else { a.ror(ecx, count); } break;
            default: if (left) { a.rol(rcx, count); } else { a.ror(rcx, count); } break;
        }
    }

    /// <summary>Random values in RAX, RBX, RCX and RDX (RDX with TF and the reserved bits clear, for POPF).</summary>
    private static void LoadRandom(Assembler a, Random random)
    {
        a.mov(rax, RandomValue(random));
        a.mov(rbx, RandomValue(random));
        a.mov(rcx, RandomValue(random));
        a.mov(rdx, RandomValue(random) & 0x8D5);
    }

    /// <summary>Edges (0, 1, -1, the signs of every width) half the time, any 64-bit value otherwise.</summary>
    private static ulong RandomValue(Random random)
    {
        ulong[] edges = [0, 1, ulong.MaxValue, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, long.MaxValue, 1UL << 63, 2, 3];
        return random.Next(2) == 0 ? edges[random.Next(edges.Length)] : (ulong)random.NextInt64() ^ ((ulong)random.Next(2) << 63);
    }
}

using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests.Jit;

/// <summary>
/// Random straight-line integer code with short forward branches, run in a counted loop: the instruction forms the
/// compiling tier translates inline (MOV, LEA, ALU, INC/DEC, shifts, IMUL, loads, stores, PUSH/POP) mixed with ones
/// it leaves to their handlers (ADC, SBB, NEG, RCL), so flags cross between the two; a flag-setting instruction of
/// every width followed by a SETcc, CMOVcc or Jcc of every condition, which the compiler evaluates from the known
/// operation; MOVZX/MOVSX and ALU forms with a memory operand.
/// RDI holds the data page, R15 the loop counter; RSP stays balanced.
/// </summary>
public static class RandomProgram
{
    private static readonly AssemblerRegister64[] Registers64 = [rax, rbx, rcx, rdx, rsi, rbp, r8, r9, r10, r11, r12, r13, r14];
    private static readonly AssemblerRegister32[] Registers32 = [eax, ebx, ecx, edx, esi, ebp, r8d, r9d, r10d, r11d, r12d, r13d, r14d];
    private static readonly AssemblerRegister16[] Registers16 = [ax, bx, cx, dx, si, bp, r8w, r9w];
    private static readonly AssemblerRegister8[] Registers8 = [al, bl, cl, dl, ah, bh, ch, dh];

    public static void Emit(Assembler a, int seed, int length, int iterations, ulong dataAddress)
    {
        var random = new Random(seed);
        var loop = a.CreateLabel();
        a.mov(rdi, dataAddress);
        foreach (var register in Registers64)
        {
            a.mov(register, (ulong)random.NextInt64());
        }

        a.mov(r15d, iterations);
        a.Label(ref loop);
        for (int i = 0; i < length; i++)
        {
            EmitOne(a, random);
        }

        a.dec(r15d);
        a.jnz(loop);
    }

    private static void EmitOne(Assembler a, Random random)
    {
        var r = Registers64[random.Next(Registers64.Length)];
        var s = Registers64[random.Next(Registers64.Length)];
        var r32 = Registers32[random.Next(Registers32.Length)];
        var s32 = Registers32[random.Next(Registers32.Length)];
        int immediate = random.Next(4) == 0 ? random.Next() : random.Next(-200, 200);
        int offset = random.Next(0, 512) * 8;
        switch (random.Next(52))
        {
            case 0: a.mov(r, s); break;
            case 1: a.mov(r32, s32); break;
            case 2: a.mov(r, (ulong)random.NextInt64()); break;
            case 3: a.add(r, s); break;
            case 4: a.sub(r32, immediate); break;
            case 5: a.and(r, immediate); break;
            case 6: a.or(r32, s32); break;
            case 7: a.xor(r, s); break;
            case 8: a.cmp(r, s); break;
            case 9: a.test(r32, immediate); break;
            case 10: a.inc(r); break;
            case 11: a.dec(r32); break;
            case 12: a.lea(r, __[s + r * 4 + immediate]); break;
            case 13: a.shl(r, (byte)random.Next(0, 70)); break;
            case 14: a.shr(r32, (byte)random.Next(0, 40)); break;
            case 15: a.sar(r, (byte)random.Next(1, 64)); break;
            case 16: a.rol(r32, (byte)random.Next(0, 33)); break;
            case 17: a.imul(r32, s32, immediate); break;
            case 18: a.mov(r, __qword_ptr[rdi + offset]); break;
            case 19: a.mov(__qword_ptr[rdi + offset], r); break;
            case 20: a.mov(__dword_ptr[rdi + offset], immediate); break;
            case 21: a.push(r); a.pop(s); break;
            case 22: a.adc(r, s); break;
            case 23: a.sbb(r32, immediate); break;
            case 24: a.setb(Registers8[random.Next(Registers8.Length)]); break;
            case 25: a.cmovle(r, s); break;
            case 26: a.add(Registers16[random.Next(Registers16.Length)], (short)immediate); break;
            case 27: a.add(Registers8[random.Next(4)], Registers8[random.Next(Registers8.Length)]); break;
            case 28: a.rcl(r, 1); break;
            case 29: a.movzx(r32, __byte_ptr[rdi + offset + random.Next(8)]); break;
            case 30: a.movsx(r, __word_ptr[rdi + offset + random.Next(7)]); break;
            case 31: a.movzx(Registers32[random.Next(6)], Registers8[random.Next(Registers8.Length)]); break;
            case 32: a.movsxd(r, s32); break;
            case 33: a.movsx(r32, Registers16[random.Next(Registers16.Length)]); break;
            case 34: a.add(r, __qword_ptr[rdi + offset]); break;
            case 35: a.cmp(__dword_ptr[rdi + offset], s32); break;
            case 36: a.test(__qword_ptr[rdi + offset], immediate); break;
            case 37: a.sub(__qword_ptr[rdi + offset], s); break;
            case 38: a.xor(__dword_ptr[rdi + offset], immediate); break;
            case 39: a.and(__byte_ptr[rdi + offset], Registers8[random.Next(4)]); break;
            case 40: a.cmp(Registers16[random.Next(Registers16.Length)], __word_ptr[rdi + offset]); break;
            case 41: a.imul(r, s); break;
            case 42: a.imul(r32, s32); break;
            case 45: a.shl(Registers8[random.Next(Registers8.Length)], (byte)random.Next(0, 32)); break;
            case 46: a.sar(Registers16[random.Next(Registers16.Length)], (byte)random.Next(0, 32)); break;
            case 47: a.shr(Registers8[random.Next(Registers8.Length)], (byte)random.Next(0, 32)); break;
            case 48: a.imul(Registers16[random.Next(Registers16.Length)], Registers16[random.Next(Registers16.Length)]); break;
            case 49: a.imul(Registers16[random.Next(Registers16.Length)], Registers16[random.Next(Registers16.Length)], (short)immediate); break;
            case 50:
                a.cmp(r, s);
                a.@lock.add(__dword_ptr[rdi + offset], s32);
                EmitConditionUser(a, random, Registers64[random.Next(Registers64.Length)], s);
                break;
            case 43 or 44:
                EmitFlagSetter(a, random, r, s, r32, s32, immediate);
                EmitConditionUser(a, random, Registers64[random.Next(Registers64.Length)], s);
                break;
            default:
                {
                    var skip = a.CreateLabel();
                    EmitConditionalJump(a, random.Next(16), skip);
                    a.xor(r32, immediate);
                    a.Label(ref skip);
                    break;
                }
        }
    }

    /// <summary>CMP, SUB, TEST, AND, XOR or ADD at a random width: the flag records the compiler knows.</summary>
    private static void EmitFlagSetter(Assembler a, Random random, AssemblerRegister64 r, AssemblerRegister64 s, AssemblerRegister32 r32, AssemblerRegister32 s32, int immediate)
    {
        var r8 = Registers8[random.Next(Registers8.Length)];
        var s8 = Registers8[random.Next(Registers8.Length)];
        var r16 = Registers16[random.Next(Registers16.Length)];
        switch (random.Next(10))
        {
            case 0: a.cmp(r, s); break;
            case 1: a.cmp(r32, immediate); break;
            case 2: a.cmp(r8, s8); break;
            case 3: a.cmp(r16, (short)immediate); break;
            case 4: a.sub(r32, s32); break;
            case 5: a.test(r, s); break;
            case 6: a.and(r32, immediate); break;
            case 7: a.xor(r8, s8); break;
            case 8: a.add(r, s); break;
            default: a.cmp(r, __qword_ptr[rdi + (random.Next(0, 512) * 8)]); break;
        }
    }

    /// <summary>A SETcc, CMOVcc or Jcc of a random condition, reading the flags the instruction before left.</summary>
    private static void EmitConditionUser(Assembler a, Random random, AssemblerRegister64 destination, AssemblerRegister64 source)
    {
        int condition = random.Next(16);
        switch (random.Next(3))
        {
            case 0:
                {
                    var setters = new Action<AssemblerRegister8>[]
                    {
                        x => a.seto(x), x => a.setno(x), x => a.setb(x), x => a.setae(x), x => a.sete(x), x => a.setne(x), x => a.setbe(x), x => a.seta(x),
                        x => a.sets(x), x => a.setns(x), x => a.setp(x), x => a.setnp(x), x => a.setl(x), x => a.setge(x), x => a.setle(x), x => a.setg(x),
                    };
                    setters[condition](Registers8[random.Next(Registers8.Length)]);
                    break;
                }

            case 1:
                {
                    var moves = new Action<AssemblerRegister64, AssemblerRegister64>[]
                    {
                        (x, y) => a.cmovo(x, y), (x, y) => a.cmovno(x, y), (x, y) => a.cmovb(x, y), (x, y) => a.cmovae(x, y),
                        (x, y) => a.cmove(x, y), (x, y) => a.cmovne(x, y), (x, y) => a.cmovbe(x, y), (x, y) => a.cmova(x, y),
                        (x, y) => a.cmovs(x, y), (x, y) => a.cmovns(x, y), (x, y) => a.cmovp(x, y), (x, y) => a.cmovnp(x, y),
                        (x, y) => a.cmovl(x, y), (x, y) => a.cmovge(x, y), (x, y) => a.cmovle(x, y), (x, y) => a.cmovg(x, y),
                    };
                    moves[condition](destination, source);
                    break;
                }

            default:
                {
                    var skip = a.CreateLabel();
                    EmitConditionalJump(a, condition, skip);
                    a.inc(destination);
                    a.Label(ref skip);
                    break;
                }
        }
    }

    private static void EmitConditionalJump(Assembler a, int condition, Label target)
    {
        switch (condition)
        {
            case 0: a.jo(target); break;
            case 1: a.jno(target); break;
            case 2: a.jb(target); break;
            case 3: a.jae(target); break;
            case 4: a.je(target); break;
            case 5: a.jne(target); break;
            case 6: a.jbe(target); break;
            case 7: a.ja(target); break;
            case 8: a.js(target); break;
            case 9: a.jns(target); break;
            case 10: a.jp(target); break;
            case 11: a.jnp(target); break;
            case 12: a.jl(target); break;
            case 13: a.jge(target); break;
            case 14: a.jle(target); break;
            default: a.jg(target); break;
        }
    }
}

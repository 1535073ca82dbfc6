using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.Bench;

/// <summary>
/// The CPU-bound guest loop the benchmark runs: integer ALU work, loads and stores to a small array, a data-dependent
/// branch, and a call/return per iteration, the mix of an ordinary compiled loop. Ends with "out 0xF4, al".
/// </summary>
public static class CpuLoopProgram
{
    public const ulong DataAddress = 0x200000;

    public static void Emit(Assembler a, uint iterations)
    {
        var loop = a.CreateLabel();
        var skip = a.CreateLabel();
        var mix = a.CreateLabel();
        a.mov(ecx, iterations);
        a.xor(eax, eax);
        a.mov(ebx, 0x12345);
        a.mov(rdi, DataAddress);
        a.Label(ref loop);
        a.mov(edx, ecx);
        a.and(edx, 63);
        a.mov(rsi, __qword_ptr[rdi + rdx * 8]);
        a.add(rsi, rax);
        a.xor(rsi, rbx);
        a.mov(__qword_ptr[rdi + rdx * 8], rsi);
        a.lea(rax, __[rax + rsi * 2 + 1]);
        a.test(esi, 1);
        a.jz(skip);
        a.sub(ebx, 7);
        a.Label(ref skip);
        a.call(mix);
        a.dec(ecx);
        a.jnz(loop);
        a.@out(0xF4, al);
        a.hlt();

        a.Label(ref mix);
        a.push(rbx);
        a.shl(rbx, 1);
        a.shr(rbx, 1);
        a.imul(ebx, ebx, 1);
        a.or(rbx, rax);
        a.cmp(rbx, rax);
        a.pop(rbx);
        a.ret();
    }
}

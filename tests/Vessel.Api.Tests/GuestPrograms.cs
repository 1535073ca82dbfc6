using Iced.Intel;
using Vessel.Testing.Images;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.Api.Tests;

/// <summary>Bare-metal guests for the API tests, assembled at test time.</summary>
public static class GuestPrograms
{
    public const ushort Com1 = 0x3F8;

    /// <summary>
    /// Forever: reads the TSC and prints it on COM1 as "T=" and 16 hex digits and a newline, then spins a while. A test
    /// sees from the lines whether the guest runs, and from their values how much guest time passed.
    /// </summary>
    public static byte[] TscPrinter(int spinIterations = 2_000_000) => Elf64Program.Build(a =>
    {
        var loop = a.CreateLabel();
        var digit = a.CreateLabel();
        var isDecimal = a.CreateLabel();
        var spin = a.CreateLabel();
        a.mov(dx, Com1);
        a.Label(ref loop);
        a.mov(al, (byte)'T');
        a.@out(dx, al);
        a.mov(al, (byte)'=');
        a.@out(dx, al);
        a.rdtsc();
        a.shl(rdx, 32);
        a.or(rax, rdx);
        a.mov(rbx, rax);
        a.mov(dx, Com1);
        a.mov(ecx, 16);
        a.Label(ref digit);
        a.rol(rbx, 4);
        a.mov(eax, ebx);
        a.and(eax, 0xF);
        a.cmp(eax, 10);
        a.jb(isDecimal);
        a.add(eax, 'a' - '0' - 10);
        a.Label(ref isDecimal);
        a.add(eax, '0');
        a.@out(dx, al);
        a.dec(ecx);
        a.jnz(digit);
        a.mov(al, (byte)'\n');
        a.@out(dx, al);
        a.mov(ecx, spinIterations);
        a.Label(ref spin);
        a.dec(ecx);
        a.jnz(spin);
        a.jmp(loop);
    });

    /// <summary>The TSC values of the complete lines <see cref="TscPrinter"/> printed, in order.</summary>
    public static IReadOnlyList<ulong> ParseTscLines(string console)
    {
        var values = new List<ulong>();
        foreach (string line in console.Split('\n')[..^1])
        {
            if (line.StartsWith("T=", StringComparison.Ordinal) && line.Length == 18)
            {
                values.Add(Convert.ToUInt64(line[2..], 16));
            }
        }

        return values;
    }
}

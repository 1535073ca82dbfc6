using System.Diagnostics;
using Vessel.X86.Cpu.Jit;
using Vessel.X86.Tests.Guests;
using Vessel.X86.Tests.Jit;

namespace Vessel.Bench;

/// <summary>
/// What RyuJIT costs per compiled block: random integer code (the differential test's generator) run with every block
/// compiled on the vCPU thread before its first run, timed by the compiler itself. Each seed is a fresh program, so
/// every block is new to RyuJIT; the first seed warms the compiler's own code and is not counted.
/// </summary>
public static class CompileCost
{
    public static int Run(int seeds)
    {
        var compiler = BackgroundCompiler.Shared;
        RunSeed(0);
        long blocks = compiler.CompiledBlocks;
        long instructions = compiler.CompiledInstructions;
        long il = compiler.IlBytes;
        var time = compiler.CompileTime;
        var wall = Stopwatch.StartNew();
        for (int seed = 1; seed <= seeds; seed++)
        {
            RunSeed(seed);
        }

        wall.Stop();
        blocks = compiler.CompiledBlocks - blocks;
        instructions = compiler.CompiledInstructions - instructions;
        il = compiler.IlBytes - il;
        double milliseconds = (compiler.CompileTime - time).TotalMilliseconds;
        Console.WriteLine(FormattableString.Invariant(
            $"{blocks} blocks ({instructions} instructions, {(double)instructions / blocks:F1} per block, {(double)il / blocks:F0} IL bytes per block) compiled in {milliseconds:F0} ms: {milliseconds / blocks:F3} ms per block, {1000 * milliseconds / instructions:F0} us per instruction ({wall.Elapsed.TotalSeconds:F1} s in all)"));
        Console.WriteLine("compiler: " + compiler.Describe());
        return 0;
    }

    private static void RunSeed(int seed)
    {
        using var guest = new LongModeGuest(a =>
        {
            RandomProgram.Emit(a, seed, length: 200, iterations: 2, LongModeGuest.DataAddress);
            LongModeGuest.EmitExit(a, 7);
        });
        guest.Cpu.CompilingTier = CompilingTierMode.Always;
        guest.Run(ulong.MaxValue);
        if (guest.Io.ExitValue == null)
        {
            throw new InvalidOperationException($"the random program of seed {seed} did not finish");
        }
    }
}

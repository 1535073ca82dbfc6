using System.Diagnostics;
using Vessel.X86.Tests.Guests;

namespace Vessel.Bench;

/// <summary>Guest instructions per second on the software CPU, in process, counted by the CPU itself.</summary>
public static class CpuThroughput
{
    public static int Run(uint iterations, int repeats)
    {
        // One short run first so the JIT has tiered the hot paths before anything is timed.
        RunOnce(200_000);
        var rates = new List<double>();
        for (int i = 0; i < repeats; i++)
        {
            var (instructions, seconds) = RunOnce(iterations);
            double rate = instructions / seconds;
            rates.Add(rate);
            Console.WriteLine(FormattableString.Invariant($"run {i + 1}: {instructions:N0} guest instructions in {seconds:F3} s = {rate / 1e6:F1} M instructions/s"));
        }

        rates.Sort();
        Console.WriteLine(FormattableString.Invariant($"median: {rates[rates.Count / 2] / 1e6:F1} M guest instructions/s (software CPU, Release, {Environment.ProcessorCount} host cores)"));
        var compiler = Vessel.X86.Cpu.Jit.BackgroundCompiler.Shared;
        Console.WriteLine(FormattableString.Invariant(
            $"compiling tier: {Vessel.X86.Cpu.Jit.CompilingTierSettings.Resolve(null)} (VESSEL_JIT); {compiler.Describe()}"));
        return 0;
    }

    private static (ulong Instructions, double Seconds) RunOnce(uint iterations)
    {
        using var guest = new LongModeGuest(a => CpuLoopProgram.Emit(a, iterations));
        var stopwatch = Stopwatch.StartNew();
        var exit = guest.Run(ulong.MaxValue);
        stopwatch.Stop();
        if (guest.Io.ExitValue == null)
        {
            throw new InvalidOperationException($"the benchmark guest did not finish: {exit.Reason} {exit.Detail}");
        }

        return (guest.Cpu.InstructionsRetired, stopwatch.Elapsed.TotalSeconds);
    }
}

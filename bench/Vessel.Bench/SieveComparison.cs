using System.Diagnostics;
using System.Globalization;

namespace Vessel.Bench;

/// <summary>
/// kvm-unit-tests' sieve (x86/sieve.flat: a sieve of Eratosthenes over 1 MB static, then through paging, then three times
/// over 100 MB of virtual memory) under <c>vessel run</c> with the compiling tier off and on, and under
/// qemu-system-x86_64 -accel tcg with the options scripts/kvm-unit-tests.py gives it, in one run: wall time from process
/// start to exit, and the process's CPU time (getrusage of the reaped child), whose sum over threads is the fairer
/// figure on a loaded host.
/// </summary>
public static class SieveComparison
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(20);

    public static int Run(string? kutDirectory, int repeats)
    {
        if (string.IsNullOrEmpty(kutDirectory))
        {
            Console.Error.WriteLine("sieve: give a built kvm-unit-tests tree as the argument or in KUT_DIR, e.g.\n"
                + "  git clone https://gitlab.com/kvm-unit-tests/kvm-unit-tests /tmp/kut && (cd /tmp/kut && ./configure && make)\n"
                + "  dotnet run -c Release --project bench/Vessel.Bench -- sieve /tmp/kut");
            return 2;
        }

        string sieve = Path.Combine(kutDirectory, "x86", "sieve.flat");
        if (!File.Exists(sieve))
        {
            Console.Error.WriteLine($"sieve: {sieve} does not exist: build kvm-unit-tests there first (./configure && make)");
            return 2;
        }

        string vesselCli = BenchEnvironment.RequireVesselCli();
        string? qemu = BenchEnvironment.FindQemu();
        Console.WriteLine($"{sieve}, 1 vCPU, default memory; {repeats} run(s) each, alternating");

        var runners = new List<(string Name, string Program, string[] Arguments)>();
        foreach (string jit in new[] { "off", "on" })
        {
            runners.Add(($"vessel --accel software --jit {jit}", "dotnet",
                [vesselCli, "run", "--accel", "software", "--jit", jit, "--cpus", "1", "--kernel", sieve]));
        }

        if (qemu != null)
        {
            // scripts/kvm-unit-tests.py's options for a section without qemu_params, as the suite's x86/run gives them.
            runners.Add(("qemu-system-x86_64 -accel tcg", qemu,
                ["-accel", "tcg", "-nodefaults", "-display", "none", "-serial", "stdio", "-device", "pc-testdev",
                 "-device", "isa-debug-exit,iobase=0xf4,iosize=0x4", "-device", "pci-testdev", "-kernel", sieve, "-smp", "1"]));
        }

        var wall = runners.Select(_ => new List<double>()).ToArray();
        var cpu = runners.Select(_ => new List<double>()).ToArray();
        string? expected = null;
        for (int repeat = 0; repeat < repeats; repeat++)
        {
            for (int i = 0; i < runners.Count; i++)
            {
                var (name, program, arguments) = runners[i];
                var (seconds, cpuSeconds, results) = RunOnce(name, program, arguments);
                expected ??= results;
                if (results != expected)
                {
                    throw new InvalidOperationException($"{name} printed different sieve results:\n{results}\nagainst\n{expected}");
                }

                wall[i].Add(seconds);
                cpu[i].Add(cpuSeconds);
                Console.WriteLine(FormattableString.Invariant($"  {name}: {seconds:F1} s wall, {cpuSeconds:F1} s CPU"));
            }
        }

        Console.WriteLine($"results (the same under each): {expected?.Replace("\n", "; ", StringComparison.Ordinal)}");
        for (int i = 0; i < runners.Count; i++)
        {
            Console.WriteLine(FormattableString.Invariant(
                $"{runners[i].Name}: {BenchEnvironment.Median(wall[i]):F1} s wall (runs: {BenchEnvironment.Runs(wall[i])}), {BenchEnvironment.Median(cpu[i]):F1} s CPU (runs: {BenchEnvironment.Runs(cpu[i])})"));
        }

        if (qemu == null)
        {
            Console.WriteLine(BenchEnvironment.QemuMissing);
            return 0;
        }

        double qemuWall = BenchEnvironment.Median(wall[2]);
        double qemuCpu = BenchEnvironment.Median(cpu[2]);
        Console.WriteLine(FormattableString.Invariant(
            $"ratio: Vessel takes {BenchEnvironment.Median(wall[0]) / qemuWall:F2}x QEMU TCG's wall time with --jit off ({BenchEnvironment.Median(cpu[0]) / qemuCpu:F2}x its CPU time), {BenchEnvironment.Median(wall[1]) / qemuWall:F2}x with --jit on ({BenchEnvironment.Median(cpu[1]) / qemuCpu:F2}x its CPU time)"));
        return 0;
    }

    /// <summary>One run to the guest's exit: wall seconds, the child's CPU seconds, and the lines the sieve printed.</summary>
    private static (double Seconds, double CpuSeconds, string Results) RunOnce(string name, string program, string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        double cpuBefore = BenchEnvironment.ChildrenCpuSeconds();
        var stopwatch = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Deadline))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new TimeoutException($"{name} did not finish the sieve within {Deadline}");
        }

        stopwatch.Stop();
        process.WaitForExit();
        double cpuSeconds = BenchEnvironment.ChildrenCpuSeconds() - cpuBefore;
        // isa-debug-exit: the test's status 0 (pass) leaves the VMM with (0 << 1) | 1.
        if (process.ExitCode != 1)
        {
            throw new InvalidOperationException(
                $"{name} did not pass the sieve (exit {process.ExitCode.ToString(CultureInfo.InvariantCulture)}):\n{output.Result}{errors.Result}");
        }

        string results = string.Join("\n", output.Result.Split('\n')
            .Select(line => line.TrimEnd('\r'))
            .Where(line => line.Contains(" out of ", StringComparison.Ordinal)));
        return (stopwatch.Elapsed.TotalSeconds, cpuSeconds, results);
    }
}

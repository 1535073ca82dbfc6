using System.Diagnostics;
using Vessel.Core.Interrupts;
using Vessel.Core.Logging;
using Vessel.Devices.Serial;
using Vessel.Vmm.Building;
using Vessel.Vmm.Configuration;
using Vessel.X86;

namespace Vessel.Bench;

/// <summary>
/// The same multiboot kernel on Vessel's software CPU and on QEMU TCG, in one run. Each side is timed at the full
/// iteration count and at a token count; the difference cancels start-up (QEMU's process and firmware, our JIT warm-up
/// and machine assembly), so the ratio compares the CPUs running the loop.
/// </summary>
public static class QemuComparison
{
    private const uint TokenIterations = 1000;

    public static int Run(uint iterations, int repeats)
    {
        string directory = Directory.CreateTempSubdirectory("vessel-bench-").FullName;
        string fullImage = Path.Combine(directory, "loop.img");
        string tokenImage = Path.Combine(directory, "loop-token.img");
        File.WriteAllBytes(fullImage, MultibootLoopImage.Build(iterations));
        File.WriteAllBytes(tokenImage, MultibootLoopImage.Build(TokenIterations));
        string? qemu = FindOnPath("qemu-system-x86_64");
        Console.WriteLine($"loop: {iterations:N0} iterations; {repeats} repeats each; qemu: {qemu ?? "not installed (apt-get install qemu-system-x86)"}");

        RunVessel(tokenImage);
        var vesselSeconds = new List<double>();
        var qemuSeconds = new List<double>();
        ulong instructions = 0;
        for (int i = 0; i < repeats; i++)
        {
            var (full, retired) = RunVessel(fullImage);
            var (token, tokenRetired) = RunVessel(tokenImage);
            instructions = retired - tokenRetired;
            vesselSeconds.Add(full - token);
            if (qemu != null)
            {
                qemuSeconds.Add(RunQemu(qemu, fullImage) - RunQemu(qemu, tokenImage));
            }
        }

        double vessel = Median(vesselSeconds);
        Console.WriteLine(FormattableString.Invariant(
            $"vessel software CPU: {vessel:F3} s for the loop ({instructions:N0} guest instructions, {instructions / vessel / 1e6:F1} M instructions/s)"));
        if (qemu != null)
        {
            double reference = Median(qemuSeconds);
            Console.WriteLine(FormattableString.Invariant(
                $"qemu-system-x86_64 -accel tcg: {reference:F3} s for the loop ({instructions / reference / 1e6:F1} M instructions/s)"));
            Console.WriteLine(FormattableString.Invariant($"ratio: Vessel runs the loop at {reference / vessel:F2}x QEMU TCG's speed"));
        }

        Directory.Delete(directory, recursive: true);
        return 0;
    }

    private static (double Seconds, ulong Instructions) RunVessel(string image)
    {
        var config = new MachineConfig { KernelPath = image, MemoryBytes = 128UL << 20, Accelerator = AcceleratorKind.Software };
        var stopwatch = Stopwatch.StartNew();
        using var built = MachineBuilder.Build(config, new SoftwareAccelerator(), new DiscardingSerialOutput(), NullMachineLog.Instance);
        var stop = built.Machine.Run();
        stopwatch.Stop();
        if (stop.Reason != MachineStopReason.DebugExit)
        {
            throw new InvalidOperationException($"the benchmark kernel did not finish on Vessel: {stop.Reason} {stop.Detail}");
        }

        ulong retired = ((SoftwareVcpu)built.Machine.Vcpus[0]).Cpu.InstructionsRetired;
        return (stopwatch.Elapsed.TotalSeconds, retired);
    }

    private static double RunQemu(string qemu, string image)
    {
        var start = new ProcessStartInfo(qemu)
        {
            ArgumentList =
            {
                "-accel", "tcg", "-kernel", image, "-m", "128", "-display", "none", "-serial", "none", "-monitor", "none",
                "-no-reboot", "-nodefaults", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x4",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var stopwatch = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start QEMU");
        process.WaitForExit();
        stopwatch.Stop();
        if (process.ExitCode != 1 && (process.ExitCode & 1) == 0)
        {
            throw new InvalidOperationException($"QEMU did not finish the benchmark kernel (exit {process.ExitCode}): {process.StandardError.ReadToEnd()}");
        }

        return stopwatch.Elapsed.TotalSeconds;
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':')
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);

    private sealed class DiscardingSerialOutput : ISerialOutput
    {
        public void Write(ReadOnlySpan<byte> data)
        {
        }

        public void Flush()
        {
        }
    }
}

using System.Globalization;
using Vessel.Vmm.Images;

namespace Vessel.Bench;

/// <summary>
/// A busybox shell loop inside the Debian guest (the cloud kernel and the busybox initramfs of scripts/guest-images.sh,
/// 256 MiB, 1 vCPU), typed on the serial console and timed by the guest's own <c>time -p</c>: under <c>vessel run</c>
/// with the compiling tier off and on, and under qemu-system-x86_64 -accel tcg, in one run. Each side boots once and
/// runs the rounds, so the first round includes the tier's compiling and the later ones show the loop once it is hot.
/// The host's clock between markers printed before and after each round is the figure compared: under Vessel the guest
/// runs on the jiffies clocksource (its TSC watchdog marks the TSC unstable during boot), which loses time when timer
/// ticks are late, so the guest's own figure is printed beside it as a check rather than used.
/// </summary>
public static class ShellLoopComparison
{
    private const string CommandLine = "console=ttyS0 panic=-1";

    /// <summary>The loop: ash's arithmetic expansion, a test builtin and a variable assignment per iteration.</summary>
    public static string LoopCommand(int iterations) =>
        $"i=0; while [ $i -lt {iterations.ToString(CultureInfo.InvariantCulture)} ]; do i=$((i+1)); done";

    public static int Run(int iterations, int rounds)
    {
        var images = GuestImages.TryLoad(out string missing)
            ?? throw new InvalidOperationException($"guest images are not cached ({missing}); run scripts/guest-images.sh first");
        string vesselCli = BenchEnvironment.RequireVesselCli();
        string? qemu = BenchEnvironment.FindQemu();
        string command = LoopCommand(iterations);
        Console.WriteLine($"kernel {images.KernelPackage}, 256 MiB, 1 vCPU, '{CommandLine}'; {rounds} rounds each of:\n  time -p sh -c '{command}'");

        var results = new List<(string Name, List<double> Real, List<double> Host)>();
        foreach (string jit in new[] { "off", "on" })
        {
            results.Add(Measure($"vessel --accel software --jit {jit}", "dotnet", [vesselCli, "run", "--accel", "software", "--jit", jit,
                "--kernel", images.BzImagePath, "--initrd", images.InitramfsPath, "--cmdline", CommandLine, "--memory", "256M", "--cpus", "1"],
                command, rounds));
        }

        if (qemu != null)
        {
            results.Add(Measure("qemu-system-x86_64 -accel tcg", qemu, ["-accel", "tcg", "-nodefaults", "-display", "none", "-serial", "stdio",
                "-no-reboot", "-m", "256", "-smp", "1", "-kernel", images.BzImagePath, "-initrd", images.InitramfsPath, "-append", CommandLine],
                command, rounds));
        }

        foreach (var (name, real, host) in results)
        {
            Console.WriteLine(FormattableString.Invariant(
                $"{name}: {BenchEnvironment.Median(host):F2} s (runs: {BenchEnvironment.Runs(host, "F2")}); by the guest's clock {BenchEnvironment.Median(real):F2} s (runs: {BenchEnvironment.Runs(real, "F2")})"));
        }

        if (qemu == null)
        {
            Console.WriteLine(BenchEnvironment.QemuMissing);
            return 0;
        }

        double reference = BenchEnvironment.Median(results[2].Host);
        double guestReference = BenchEnvironment.Median(results[2].Real);
        Console.WriteLine(FormattableString.Invariant(
            $"ratio: Vessel takes {BenchEnvironment.Median(results[0].Host) / reference:F2}x QEMU TCG's time with --jit off, {BenchEnvironment.Median(results[1].Host) / reference:F2}x with --jit on (by the guests' clocks {BenchEnvironment.Median(results[0].Real) / guestReference:F2}x and {BenchEnvironment.Median(results[1].Real) / guestReference:F2}x)"));
        return 0;
    }

    private static (string Name, List<double> Real, List<double> Host) Measure(string name, string program, string[] arguments, string command, int rounds)
    {
        using var shell = GuestShell.Boot(program, arguments);
        string clocksource = shell.Run("cat /sys/devices/system/clocksource/clocksource0/current_clocksource");
        var real = new List<double>();
        var host = new List<double>();
        for (int round = 0; round < rounds; round++)
        {
            var time = shell.Time(command);
            real.Add(time.Real);
            host.Add(time.Host);
        }

        shell.PowerOff();
        Console.WriteLine($"  {name}: {BenchEnvironment.Runs(host, "F2")} s (guest clocksource {clocksource}: {BenchEnvironment.Runs(real, "F2")} s)");
        return (name, real, host);
    }
}

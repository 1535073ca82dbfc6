using System.Diagnostics;
using Vessel.Vmm.Images;

namespace Vessel.Bench;

/// <summary>
/// Time from process start to the initramfs's first userspace line, for Debian's cloud kernel and the busybox initramfs
/// (scripts/guest-images.sh), on Vessel's software CPU and on qemu-system-x86_64 -accel tcg, same kernel, initramfs,
/// command line, memory and vCPUs, measured in one run.
/// </summary>
public static class LinuxBootComparison
{
    private const string CommandLine = "console=ttyS0 panic=-1";

    public static int Run(int vcpus, int repeats)
    {
        var images = GuestImages.TryLoad(out string missing)
            ?? throw new InvalidOperationException($"guest images are not cached ({missing}); run scripts/guest-images.sh first");
        string repository = FindRepository();
        string vesselCli = Path.Combine(repository, ".vessel-build", "cli", "vessel.dll");
        if (!File.Exists(vesselCli))
        {
            throw new InvalidOperationException($"{vesselCli} is missing: run ./vessel --help once to build the CLI in Release");
        }

        string? qemu = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':')
            .Select(directory => Path.Combine(directory, "qemu-system-x86_64")).FirstOrDefault(File.Exists);
        Console.WriteLine($"kernel {images.KernelPackage}, 256 MiB, {vcpus} vCPU(s), '{CommandLine}'; {repeats} boots each");

        var vessel = new List<double>();
        var compiled = new List<double>();
        var reference = new List<double>();
        var vesselCpu = new List<double>();
        var compiledCpu = new List<double>();
        for (int i = 0; i < repeats; i++)
        {
            // The interpreter alone, then with the compiling tier, so one run measures both.
            foreach (var (jit, times, cpuTimes) in new[] { ("off", vessel, vesselCpu), ("on", compiled, compiledCpu) })
            {
                times.Add(TimeToUserspace(cpuTimes, "dotnet", [vesselCli, "run", "--kernel", images.BzImagePath, "--initrd", images.InitramfsPath,
                    "--cmdline", CommandLine, "--memory", "256M", "--cpus", vcpus.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    "--accel", "software", "--jit", jit]));
            }

            if (qemu != null)
            {
                reference.Add(TimeToUserspace(null, qemu, ["-accel", "tcg", "-nodefaults", "-display", "none", "-serial", "stdio", "-no-reboot",
                    "-m", "256", "-smp", vcpus.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    "-kernel", images.BzImagePath, "-initrd", images.InitramfsPath, "-append", CommandLine]));
            }
        }

        vessel.Sort();
        compiled.Sort();
        double vesselMedian = vessel[vessel.Count / 2];
        double compiledMedian = compiled[compiled.Count / 2];
        Console.WriteLine(FormattableString.Invariant($"vessel --accel software --jit off: {vesselMedian:F1} s to userspace (runs: {string.Join(", ", vessel.Select(v => v.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)))})"));
        Console.WriteLine(FormattableString.Invariant($"vessel --accel software --jit on: {compiledMedian:F1} s to userspace (runs: {string.Join(", ", compiled.Select(v => v.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)))})"));
        vesselCpu.Sort();
        compiledCpu.Sort();
        Console.WriteLine(FormattableString.Invariant(
            $"process CPU time to userspace (median): --jit off {vesselCpu[vesselCpu.Count / 2]:F1} s, --jit on {compiledCpu[compiledCpu.Count / 2]:F1} s (on a loaded host the fairer comparison)"));
        if (reference.Count > 0)
        {
            reference.Sort();
            double qemuMedian = reference[reference.Count / 2];
            Console.WriteLine(FormattableString.Invariant($"qemu-system-x86_64 -accel tcg: {qemuMedian:F1} s to userspace (runs: {string.Join(", ", reference.Select(v => v.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)))})"));
            Console.WriteLine(FormattableString.Invariant($"ratio: Vessel takes {vesselMedian / qemuMedian:F2}x QEMU TCG's boot time with --jit off, {compiledMedian / qemuMedian:F2}x with --jit on"));
        }
        else
        {
            Console.WriteLine("qemu-system-x86_64 is not installed (apt-get install qemu-system-x86): no side-by-side figure");
        }

        return 0;
    }

    /// <summary>Wall-clock seconds to the userspace line; the process's CPU seconds by then go to <paramref name="cpuTimes"/> when given.</summary>
    private static double TimeToUserspace(List<double>? cpuTimes, string program, string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var stopwatch = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        var deadline = TimeSpan.FromMinutes(10);
        var reader = process.StandardOutput;
        var line = new System.Text.StringBuilder();
        try
        {
            while (stopwatch.Elapsed < deadline)
            {
                int next = reader.Read();
                if (next < 0)
                {
                    throw new InvalidOperationException($"{program} ended before userspace: ...{line}");
                }

                if (next == '\n')
                {
                    if (line.ToString().Contains(GuestImages.UserspaceMarker, StringComparison.Ordinal))
                    {
                        double seconds = stopwatch.Elapsed.TotalSeconds;
                        process.Refresh();
                        cpuTimes?.Add(process.TotalProcessorTime.TotalSeconds);
                        return seconds;
                    }

                    line.Clear();
                }
                else
                {
                    line.Append((char)next);
                }
            }

            throw new TimeoutException($"{program} did not reach userspace within {deadline}");
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
    }

    private static string FindRepository()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory != null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Vessel.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("run the benchmark from inside the Vessel repository");
    }
}

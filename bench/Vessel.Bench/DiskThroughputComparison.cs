using System.Diagnostics;
using System.Globalization;
using System.Text;
using Vessel.Vmm.Images;

namespace Vessel.Bench;

/// <summary>
/// Sequential virtio-blk throughput seen from inside the guest: Debian's cloud kernel and the busybox initramfs
/// (scripts/guest-images.sh) with one 128 MiB raw disk, on Vessel's software CPU and on qemu-system-x86_64 -accel tcg
/// (modern virtio-blk-pci, its default writeback cache), same kernel, memory and vCPUs, in one run. The guest times
/// busybox dd with direct I/O, so its page cache is not what is measured; each side boots once and runs the rounds.
/// </summary>
public static class DiskThroughputComparison
{
    private const string CommandLine = "console=ttyS0 panic=-1";
    private const long DiskBytes = 128L << 20;

    /// <summary>64 MiB written and flushed (O_DIRECT, then fsync: virtio-blk FLUSH), then read back with O_DIRECT, in 1 MiB requests.</summary>
    public const string WriteCommand = "dd if=/dev/zero of=/dev/vda bs=1M count=64 oflag=direct conv=fsync 2>/dev/null";

    public const string ReadCommand = "dd if=/dev/vda of=/dev/null bs=1M count=64 iflag=direct 2>/dev/null";

    public static int Run(int rounds)
    {
        var images = GuestImages.TryLoad(out string missing)
            ?? throw new InvalidOperationException($"guest images are not cached ({missing}); run scripts/guest-images.sh first");
        string vesselCli = Path.Combine(FindRepository(), ".vessel-build", "cli", "vessel.dll");
        if (!File.Exists(vesselCli))
        {
            throw new InvalidOperationException($"{vesselCli} is missing: run ./vessel --help once to build the CLI in Release");
        }

        string? qemu = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':')
            .Select(directory => Path.Combine(directory, "qemu-system-x86_64")).FirstOrDefault(File.Exists);
        string work = Directory.CreateTempSubdirectory("vessel-disk-bench.").FullName;
        try
        {
            Console.WriteLine($"kernel {images.KernelPackage}, 256 MiB, 1 vCPU; a 128 MiB raw disk; {rounds} rounds of:\n  {WriteCommand}\n  {ReadCommand}");
            string vesselDisk = CreateDisk(work, "vessel.raw");
            Report("vessel --accel software", Measure("dotnet", [vesselCli, "run", "--kernel", images.BzImagePath, "--initrd", images.InitramfsPath,
                "--cmdline", CommandLine, "--memory", "256M", "--cpus", "1", "--accel", "software", "--disk", $"path={vesselDisk},format=raw"], rounds));
            if (qemu == null)
            {
                Console.WriteLine("qemu-system-x86_64 is not installed (apt-get install qemu-system-x86): no side-by-side figure");
                return 0;
            }

            string qemuDisk = CreateDisk(work, "qemu.raw");
            Report("qemu-system-x86_64 -accel tcg", Measure(qemu, ["-accel", "tcg", "-nodefaults", "-display", "none", "-serial", "stdio", "-no-reboot",
                "-m", "256", "-smp", "1", "-kernel", images.BzImagePath, "-initrd", images.InitramfsPath, "-append", CommandLine,
                "-drive", $"file={qemuDisk},format=raw,if=none,id=disk0", "-device", "virtio-blk-pci,drive=disk0,disable-legacy=on"], rounds));
            return 0;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static string CreateDisk(string directory, string name)
    {
        string path = Path.Combine(directory, name);
        using var file = File.Create(path);
        file.SetLength(DiskBytes);
        return path;
    }

    private static void Report(string name, (List<double> Write, List<double> Read) seconds)
    {
        string Runs(List<double> values) => string.Join(", ", values.Select(v => v.ToString("F2", CultureInfo.InvariantCulture)));
        double write = Median(seconds.Write);
        double read = Median(seconds.Read);
        Console.WriteLine(FormattableString.Invariant(
            $"{name}: write {write:F2} s ({64 / write:F0} MiB/s; runs {Runs(seconds.Write)}), read {read:F2} s ({64 / read:F0} MiB/s; runs {Runs(seconds.Read)})"));
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return Math.Max(values[values.Count / 2], 0.01);
    }

    /// <summary>Boots, waits for the shell, runs the rounds with busybox's <c>time -p</c>, powers off.</summary>
    private static (List<double> Write, List<double> Read) Measure(string program, string[] arguments, int rounds)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        var console = new ConsoleReader(process.StandardOutput);
        try
        {
            console.WaitFor(GuestImages.UserspaceMarker);
            console.WaitFor("# ");
            int number = 0;
            double Time(string command)
            {
                number++;
                process.StandardInput.Write($"echo '@@''begin-{number}'; time -p sh -c '{command}' 2>&1 | sed -n 's/^real //p'; echo '@@''end-{number}'\n");
                process.StandardInput.Flush();
                console.WaitFor($"@@begin-{number}\r\n");
                string output = console.ReadUntil($"@@end-{number}").Trim();
                return double.Parse(output, CultureInfo.InvariantCulture);
            }

            var write = new List<double>();
            var read = new List<double>();
            for (int round = 0; round < rounds; round++)
            {
                write.Add(Time(WriteCommand));
                read.Add(Time(ReadCommand));
            }

            process.StandardInput.Write("poweroff\n");
            process.StandardInput.Flush();
            process.WaitForExit(60_000);
            return (write, read);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
            }
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

    /// <summary>The guest console as text, read one character at a time so nothing past a marker is lost.</summary>
    private sealed class ConsoleReader(StreamReader reader)
    {
        private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(10);
        private readonly StringBuilder pending = new();

        public void WaitFor(string text) => ReadUntil(text);

        /// <summary>Returns what came before <paramref name="text"/> and consumes both.</summary>
        public string ReadUntil(string text)
        {
            var clock = Stopwatch.StartNew();
            pending.Clear();
            while (clock.Elapsed < Deadline)
            {
                int next = reader.Read();
                if (next < 0)
                {
                    throw new InvalidOperationException($"the VMM ended before '{text}': ...{Tail()}");
                }

                pending.Append((char)next);
                if (pending.Length >= text.Length && pending.ToString(pending.Length - text.Length, text.Length) == text)
                {
                    return pending.ToString(0, pending.Length - text.Length);
                }
            }

            throw new TimeoutException($"'{text}' did not appear within {Deadline}: ...{Tail()}");
        }

        private string Tail() => pending.Length > 2000 ? pending.ToString(pending.Length - 2000, 2000) : pending.ToString();
    }
}

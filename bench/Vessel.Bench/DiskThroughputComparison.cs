using System.Globalization;
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
        string vesselCli = BenchEnvironment.RequireVesselCli();
        string? qemu = BenchEnvironment.FindQemu();
        string work = Directory.CreateTempSubdirectory("vessel-disk-bench.").FullName;
        try
        {
            Console.WriteLine($"kernel {images.KernelPackage}, 256 MiB, 1 vCPU; a 128 MiB raw disk; {rounds} rounds of:\n  {WriteCommand}\n  {ReadCommand}");
            string vesselDisk = CreateDisk(work, "vessel.raw");
            Report("vessel --accel software", Measure("dotnet", [vesselCli, "run", "--kernel", images.BzImagePath, "--initrd", images.InitramfsPath,
                "--cmdline", CommandLine, "--memory", "256M", "--cpus", "1", "--accel", "software", "--disk", $"path={vesselDisk},format=raw"], rounds));
            if (qemu == null)
            {
                Console.WriteLine(BenchEnvironment.QemuMissing);
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
        using var shell = GuestShell.Boot(program, arguments);
        var write = new List<double>();
        var read = new List<double>();
        for (int round = 0; round < rounds; round++)
        {
            write.Add(shell.Time(WriteCommand).Real);
            read.Add(shell.Time(ReadCommand).Real);
        }

        shell.PowerOff();
        return (write, read);
    }
}

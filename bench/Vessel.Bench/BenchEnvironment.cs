using System.Runtime.InteropServices;

namespace Vessel.Bench;

/// <summary>What the process-based comparisons need from the host: the Release CLI, QEMU, and children's CPU time.</summary>
internal static partial class BenchEnvironment
{
    /// <summary>RUSAGE_CHILDREN (sys/resource.h).</summary>
    private const int ResourceUsageChildren = -1;

    public const string QemuMissing = "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86): no side-by-side figure";

    /// <summary>The Release CLI that <c>./vessel</c> builds, or an error saying how to build it.</summary>
    public static string RequireVesselCli()
    {
        string vesselCli = Path.Combine(FindRepository(), ".vessel-build", "cli", "vessel.dll");
        if (!File.Exists(vesselCli))
        {
            throw new InvalidOperationException($"{vesselCli} is missing: run ./vessel --help once to build the CLI in Release");
        }

        return vesselCli;
    }

    /// <summary>qemu-system-x86_64 on PATH, or null.</summary>
    public static string? FindQemu() =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':')
            .Select(directory => Path.Combine(directory, "qemu-system-x86_64")).FirstOrDefault(File.Exists);

    /// <summary>
    /// User plus system CPU seconds of every child this process has waited for (getrusage(2), RUSAGE_CHILDREN). The
    /// difference across one child's run is that child's CPU time, the threads it ran on other cores included.
    /// </summary>
    public static double ChildrenCpuSeconds()
    {
        if (GetResourceUsage(ResourceUsageChildren, out var usage) != 0)
        {
            throw new InvalidOperationException($"getrusage(RUSAGE_CHILDREN) failed: errno {Marshal.GetLastPInvokeError()}");
        }

        return usage.UserSeconds + (usage.UserMicroseconds / 1e6) + usage.SystemSeconds + (usage.SystemMicroseconds / 1e6);
    }

    public static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    public static string Runs(List<double> values, string format = "F1") =>
        string.Join(", ", values.Select(v => v.ToString(format, System.Globalization.CultureInfo.InvariantCulture)));

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

    [LibraryImport("libc", EntryPoint = "getrusage", SetLastError = true)]
    private static partial int GetResourceUsage(int who, out ResourceUsage usage);

    /// <summary>struct rusage on x86-64 Linux: ru_utime and ru_stime (struct timeval), then fourteen longs not read here.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 144)]
    private struct ResourceUsage
    {
        public long UserSeconds;
        public long UserMicroseconds;
        public long SystemSeconds;
        public long SystemMicroseconds;
    }
}

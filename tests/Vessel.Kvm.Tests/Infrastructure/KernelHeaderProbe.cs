using System.Diagnostics;
using System.Globalization;
using System.Text;
using Vessel.Kvm.Tests.Interop;

namespace Vessel.Kvm.Tests.Infrastructure;

/// <summary>
/// Compiles a C program against the host's &lt;linux/kvm.h&gt; (linux-libc-dev) and &lt;signal.h&gt; that prints sizeof,
/// offsetof and macro values, so layouts and ioctl numbers are checked against the kernel's own headers.
/// </summary>
internal static class KernelHeaderProbe
{
    public const string KvmHeader = "/usr/include/linux/kvm.h";

    private static readonly Lazy<IReadOnlyDictionary<string, ulong>> Values = new(CompileAndRun);

    /// <summary>Whether gcc and the KVM header are here; when not, <paramref name="reason"/> says what to install.</summary>
    public static bool CanRun(out string reason)
    {
        if (!File.Exists(KvmHeader))
        {
            reason = $"{KvmHeader} is missing: install the kernel's userspace headers (apt-get install linux-libc-dev) to check layouts against them.";
            return false;
        }

        if (FindOnPath("gcc") is null)
        {
            reason = "gcc is not on PATH: install it (apt-get install gcc) to compile the kernel-header probe.";
            return false;
        }

        reason = string.Empty;
        return true;
    }

    public static ulong SizeOf(string cType) => Get($"sizeof({cType})");

    public static ulong OffsetOf(string cType, string member) => Get($"offsetof({cType}, {member})");

    public static ulong Macro(string name) => Get(name);

    private static ulong Get(string expression) =>
        Values.Value.TryGetValue(expression, out ulong value)
            ? value
            : throw new InvalidOperationException($"The probe did not print '{expression}'; add it to {nameof(KernelHeaderExpectations)}.");

    private static IReadOnlyDictionary<string, ulong> CompileAndRun()
    {
        var expressions = new List<string>();
        foreach (var layout in KernelHeaderExpectations.Structs)
        {
            expressions.Add($"sizeof({layout.CType})");
            foreach (var (cMember, _) in layout.Fields)
            {
                expressions.Add($"offsetof({layout.CType}, {cMember})");
            }
        }

        foreach (var (macro, _) in KernelHeaderExpectations.Macros)
        {
            expressions.Add(macro);
        }

        var source = new StringBuilder();
        source.AppendLine("#include <stdio.h>");
        source.AppendLine("#include <stddef.h>");
        source.AppendLine("#include <signal.h>");
        source.AppendLine("#include <errno.h>");
        source.AppendLine("#include <fcntl.h>");
        source.AppendLine("#include <sys/mman.h>");
        source.AppendLine("#include <sys/eventfd.h>");
        source.AppendLine("#include <linux/kvm.h>");
        source.AppendLine("#include <linux/vhost.h>");
        source.AppendLine("int main(void) {");
        foreach (string expression in expressions)
        {
            source.AppendLine($"    printf(\"%s=%llu\\n\", \"{expression}\", (unsigned long long)({expression}));");
        }

        source.AppendLine("    return 0;");
        source.AppendLine("}");

        string directory = Directory.CreateTempSubdirectory("vessel-kvm-probe-").FullName;
        try
        {
            string cFile = Path.Combine(directory, "probe.c");
            string executable = Path.Combine(directory, "probe");
            File.WriteAllText(cFile, source.ToString());
            Execute("gcc", ["-std=gnu11", "-Wall", "-Werror", "-o", executable, cFile]);
            string output = Execute(executable, []);

            var values = new Dictionary<string, ulong>(StringComparer.Ordinal);
            foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                int equals = line.LastIndexOf('=');
                values[line[..equals]] = ulong.Parse(line[(equals + 1)..], CultureInfo.InvariantCulture);
            }

            return values;
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static string Execute(string program, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {program}.");
        Task<string> error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(1)))
        {
            process.Kill();
            throw new TimeoutException($"{program} did not finish within a minute.");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} exited with {process.ExitCode}: {error.Result}");
        }

        return output;
    }

    private static string? FindOnPath(string program)
    {
        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(directory, program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}

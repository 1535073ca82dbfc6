using System.Diagnostics;

namespace Vessel.Devices.Tests.Storage;

/// <summary>qemu-img and qemu-io (Debian package qemu-utils), the oracle the qcow2 tests check Vessel against.</summary>
internal static class QemuTools
{
    /// <summary>Why the QEMU tests cannot run here, or null when they can.</summary>
    public static string? MissingReason { get; } =
        OnPath("qemu-img") && OnPath("qemu-io") ? null : "qemu-img and qemu-io (Debian package qemu-utils) are not installed; scripts/test.sh installs them";

    /// <summary>Runs qemu-img and returns its exit status and output (stdout and stderr).</summary>
    public static (int Status, string Output) TryImg(params string[] args) => Run("qemu-img", args);

    /// <summary>Runs qemu-img and fails the test, with its output, when it does not exit 0.</summary>
    public static string Img(params string[] args) => Succeed("qemu-img", args);

    /// <summary>Runs qemu-io (one or more <c>-c COMMAND</c>) and fails the test when it does not exit 0 or reports an error.</summary>
    public static string Io(params string[] args)
    {
        string output = Succeed("qemu-io", args);
        Assert.DoesNotContain("failed", output, StringComparison.OrdinalIgnoreCase);
        return output;
    }

    /// <summary><c>qemu-img check</c>; asserts no errors (leaks allowed only where <paramref name="allowLeaks"/>).</summary>
    public static void AssertCheckPasses(string image, bool allowLeaks = false)
    {
        var (status, output) = TryImg("check", image);
        Assert.True(status == 0 || (allowLeaks && status == 3), $"qemu-img check exited {status}:\n{output}");
        Assert.DoesNotContain("ERROR", output);
    }

    /// <summary><c>qemu-img compare</c> of a qcow2 image with a raw reference: asserts identical guest-visible contents.</summary>
    public static void AssertSameContents(string qcow2, string raw)
    {
        var (status, output) = TryImg("compare", "-f", "qcow2", "-F", "raw", qcow2, raw);
        Assert.True(status == 0, $"qemu-img compare exited {status}:\n{output}");
    }

    public static (int Status, string Output) Run(string tool, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill();
            Assert.Fail($"{tool} {string.Join(' ', args)} did not finish within 3 minutes.");
        }

        return (process.ExitCode, output.Result + errors.Result);
    }

    private static string Succeed(string tool, string[] args)
    {
        var (status, output) = Run(tool, args);
        Assert.True(status == 0, $"{tool} {string.Join(' ', args)} exited {status}:\n{output}");
        return output;
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(folder => File.Exists(Path.Combine(folder, tool)));
}

using System.Diagnostics;

namespace Vessel.Guests.Tests.Linux;

/// <summary>QEMU's image tool, the reference the disk tests make and read qcow2 images with.</summary>
public static class QemuImg
{
    /// <summary>The qemu-img on PATH, or null when there is none.</summary>
    public static string? Path { get; } = Find();

    /// <summary>Runs qemu-img with <paramref name="arguments"/> and returns its exit status and output (stdout then stderr).</summary>
    public static (int ExitCode, string Output) Run(params string[] arguments)
    {
        var start = new ProcessStartInfo(Path ?? throw new InvalidOperationException("qemu-img is not installed."))
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start qemu-img.");
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output + error.Result);
    }

    private static string? Find()
    {
        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = System.IO.Path.Combine(directory, "qemu-img");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}

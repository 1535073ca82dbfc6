using System.Diagnostics;

namespace Vessel.Devices.Tests.Storage;

/// <summary>Starts tests/Vessel.Testing.DiskWriter, the separate process the crash and permission tests need.</summary>
internal static class DiskWriterProcess
{
    private static string Assembly => Path.Combine(AppContext.BaseDirectory, "Vessel.Testing.DiskWriter.dll");

    /// <summary>Starts the writer with redirected output; <paramref name="asUser"/> runs it through setpriv as that uid and gid.</summary>
    public static Process Start(IEnumerable<string> args, int? asUser = null)
    {
        var start = new ProcessStartInfo(asUser is null ? "dotnet" : "setpriv")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (asUser is int uid)
        {
            foreach (string arg in new[] { $"--reuid={uid}", $"--regid={uid}", "--clear-groups", "dotnet" })
            {
                start.ArgumentList.Add(arg);
            }

            start.Environment["HOME"] = Path.GetTempPath();
            start.Environment["DOTNET_CLI_HOME"] = Path.GetTempPath();
        }

        start.ArgumentList.Add(Assembly);
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return Process.Start(start)!;
    }

    /// <summary>Runs the writer to completion and returns its exit status and output.</summary>
    public static (int Status, string Output) Run(IEnumerable<string> args, int? asUser = null)
    {
        using var process = Start(args, asUser);
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill();
            Assert.Fail("The disk writer process did not finish within 2 minutes.");
        }

        return (process.ExitCode, output.Result + errors.Result);
    }
}

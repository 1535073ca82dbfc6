using System.Diagnostics;
using System.Text;

namespace Vessel.Api.Tests.EndToEnd;

/// <summary>
/// The real <c>vessel</c> binary (built with these tests) in a child process: its stdout (the guest's serial console)
/// captured, its stdin a pipe to type into, and its exit awaited with a bound.
/// </summary>
public sealed class VesselProcess : IDisposable
{
    private readonly Process process;
    private readonly StringBuilder stdout = new();
    private readonly StringBuilder stderr = new();
    private readonly Lock sync = new();

    private VesselProcess(Process process)
    {
        this.process = process;
    }

    public string Output
    {
        get
        {
            lock (sync)
            {
                return stdout.ToString();
            }
        }
    }

    public string Errors
    {
        get
        {
            lock (sync)
            {
                return stderr.ToString();
            }
        }
    }

    public bool HasExited => process.HasExited;

    public int ProcessId => process.Id;

    /// <summary>The CLI built beside these tests: src/Vessel.Cli/bin/CONFIGURATION/net10.0/vessel, found from the test's own output folder.</summary>
    public static string BinaryPath
    {
        get
        {
            var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
            string configuration = testOutput.Parent!.Name;
            var root = testOutput;
            while (root != null && !File.Exists(Path.Combine(root.FullName, "Vessel.slnx")))
            {
                root = root.Parent;
            }

            return Path.Combine(root?.FullName ?? throw new InvalidOperationException("The repository root (Vessel.slnx) is not above the test output."), "src", "Vessel.Cli", "bin", configuration, testOutput.Name, "vessel");
        }
    }

    public static VesselProcess Start(params string[] arguments)
    {
        var start = new ProcessStartInfo(BinaryPath)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {BinaryPath}.");
        var vessel = new VesselProcess(process);

        // Raw reads, not line events: a shell prompt has no newline after it.
        vessel.Pump(process.StandardOutput.BaseStream, vessel.stdout, "stdout");
        vessel.Pump(process.StandardError.BaseStream, vessel.stderr, "stderr");
        return vessel;
    }

    public static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':').Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    /// <summary>Types a line into the guest's console.</summary>
    public void Type(string line)
    {
        process.StandardInput.Write(line + "\n");
        process.StandardInput.Flush();
    }

    /// <summary>Waits for <paramref name="text"/> at or after <paramref name="from"/> in stdout; returns the index just past it.</summary>
    public int WaitFor(string text, TimeSpan timeout, int from = 0)
    {
        int found = -1;
        bool appeared = SpinWait.SpinUntil(
            () =>
            {
                string output = Output;
                found = from <= output.Length ? output.IndexOf(text, from, StringComparison.Ordinal) : -1;
                return found >= 0 || process.HasExited;
            },
            timeout);
        if (!appeared || found < 0)
        {
            string output = Output;
            throw new TimeoutException(
                $"'{text}' did not appear on the console {(process.HasExited ? $"(vessel exited with {process.ExitCode})" : $"within {timeout.TotalSeconds:0} s")}. "
                + $"Console tail:\n{output[Math.Max(0, output.Length - 1500)..]}\nstderr:\n{Errors}");
        }

        return found + text.Length;
    }

    public int WaitForExit(TimeSpan timeout)
    {
        if (!process.WaitForExit(timeout))
        {
            throw new TimeoutException($"vessel did not exit within {timeout.TotalSeconds:0} s. Console tail:\n{Output[Math.Max(0, Output.Length - 1500)..]}");
        }

        process.WaitForExit();
        return process.ExitCode;
    }

    public void Dispose()
    {
        if (!process.HasExited)
        {
            process.Kill();
            process.WaitForExit();
        }

        process.Dispose();
    }

    private void Pump(Stream stream, StringBuilder buffer, string name)
    {
        var thread = new Thread(() =>
        {
            var chunk = new byte[4096];
            int read;
            while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
            {
                lock (sync)
                {
                    buffer.Append(Encoding.Latin1.GetString(chunk, 0, read));
                }
            }
        })
        { IsBackground = true, Name = $"vessel {name}" };
        thread.Start();
    }
}

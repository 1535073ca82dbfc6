using System.Diagnostics;
using Vessel.Cli.Terminal;
using Vessel.Testing.Images;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.Cli.Tests;

/// <summary>The vessel process itself, started as a user starts it, stopped by a signal.</summary>
public class ProcessStopTests
{
    /// <summary>Generous for a loaded 2-core host: the stop itself takes well under a second.</summary>
    private static readonly TimeSpan ExitBound = TimeSpan.FromSeconds(20);

    [Fact]
    public void Sigterm_ends_a_guest_whose_stdout_nobody_reads_with_the_signals_status()
    {
        // The guest says it started (an unclaimed port, logged with -v), then writes to COM1 forever.
        string kernel = Elf64Program.WriteTemporary(a =>
        {
            var loop = a.CreateLabel();
            a.@out(0x99, al);
            a.mov(dx, 0x3F8);
            a.mov(al, (byte)'x');
            a.Label(ref loop);
            a.@out(dx, al);
            a.jmp(loop);
        });
        try
        {
            using var vessel = StartVessel("run", "--kernel", kernel, "--accel", "software", "-v");

            // stdout is redirected and never read: once the pipe and the console buffer fill, the guest's writes wait.
            var stderr = WaitForStderrLine(vessel, "reached no device");
            WaitUntil(() => ThreadIsBlockedWritingAPipe(vessel), TimeSpan.FromSeconds(5));

            var stopwatch = Stopwatch.StartNew();
            Signal(vessel, "TERM");
            bool exited = vessel.WaitForExit(ExitBound);
            if (!exited)
            {
                vessel.Kill(entireProcessTree: true);
            }

            Assert.True(exited, $"vessel did not exit within {ExitBound.TotalSeconds} s of SIGTERM; stderr:\n{Text(stderr)}");
            Assert.Equal(ConsoleSession.TerminatedStatus, vessel.ExitCode);
            Assert.True(stopwatch.Elapsed < ExitBound);
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    [Fact]
    public void Sigterm_ends_a_guest_with_64_idle_vcpus_promptly()
    {
        string kernel = Elf64Program.WriteTemporary(a =>
        {
            a.@out(0x99, al);
            a.cli();
            a.hlt();
        });
        try
        {
            using var vessel = StartVessel("run", "--kernel", kernel, "--accel", "software", "--cpus", "64", "-v");
            var stderr = WaitForStderrLine(vessel, "reached no device");

            var stopwatch = Stopwatch.StartNew();
            Signal(vessel, "TERM");
            bool exited = vessel.WaitForExit(ExitBound);
            if (!exited)
            {
                vessel.Kill(entireProcessTree: true);
            }

            Assert.True(exited, $"vessel with 64 idle vCPUs did not exit within {ExitBound.TotalSeconds} s of SIGTERM; stderr:\n{Text(stderr)}");
            Assert.Equal(ConsoleSession.TerminatedStatus, vessel.ExitCode);
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    private static Process StartVessel(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "vessel.dll"));
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet vessel.dll");
    }

    /// <summary>Reads stderr until a line holds <paramref name="text"/>; a thread of its own bounds the wait on a busy host.</summary>
    private static System.Text.StringBuilder WaitForStderrLine(Process vessel, string text)
    {
        var found = new ManualResetEventSlim(false);
        var seen = new System.Text.StringBuilder();
        var reader = new Thread(() =>
        {
            while (vessel.StandardError.ReadLine() is { } line)
            {
                lock (seen)
                {
                    seen.AppendLine(line);
                }

                if (line.Contains(text, StringComparison.Ordinal))
                {
                    found.Set();
                }
            }
        })
        { IsBackground = true };
        reader.Start();
        if (!found.Wait(TimeSpan.FromSeconds(60)))
        {
            vessel.Kill(entireProcessTree: true);
            lock (seen)
            {
                Assert.Fail($"vessel never logged '{text}'; stderr was:\n{seen}");
            }
        }

        return seen;
    }

    private static string Text(System.Text.StringBuilder seen)
    {
        lock (seen)
        {
            return seen.ToString();
        }
    }

    /// <summary>Whether a thread of the process sleeps in pipe_write; false where /proc hides wchan (then the wait times out harmlessly).</summary>
    private static bool ThreadIsBlockedWritingAPipe(Process process)
    {
        try
        {
            return Directory.EnumerateDirectories($"/proc/{process.Id}/task")
                .Any(task => File.ReadAllText(Path.Combine(task, "wchan")).Contains("pipe_write", StringComparison.Ordinal));
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static void WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!condition() && stopwatch.Elapsed < timeout)
        {
            Thread.Sleep(50);
        }
    }

    private static void Signal(Process process, string signal)
    {
        // bash's builtin kill: /bin/kill (procps) is not on every minimal host.
        using var kill = Process.Start("bash", ["-c", $"kill -{signal} {process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)}"]);
        Assert.True(kill.WaitForExit(30_000));
    }
}

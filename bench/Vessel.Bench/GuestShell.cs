using System.Diagnostics;
using System.Globalization;
using System.Text;
using Vessel.Vmm.Images;

namespace Vessel.Bench;

/// <summary>
/// A VMM process booting the Debian kernel and busybox initramfs (scripts/guest-images.sh), driven through the shell on
/// its serial console (the process's stdin and stdout): commands are typed and timed inside the guest with busybox's
/// <c>time -p</c>, so the host's start-up and the console's speed stay out of the figure.
/// </summary>
internal sealed class GuestShell : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(10);

    private readonly Process process;
    private readonly StreamReader output;
    private readonly StringBuilder pending = new();
    private int commandNumber;

    private GuestShell(Process process)
    {
        this.process = process;
        output = process.StandardOutput;
    }

    /// <summary>Starts <paramref name="program"/> and waits for the guest's shell prompt.</summary>
    public static GuestShell Boot(string program, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        var shell = new GuestShell(process);
        try
        {
            shell.ReadUntil(GuestImages.UserspaceMarker);
            shell.ReadUntil("# ");
            return shell;
        }
        catch
        {
            shell.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs <paramref name="command"/> (no single quotes) in a child shell under busybox's <c>time -p</c> and returns its
    /// real, user and system seconds as the guest's clock measures them, and the host's wall seconds between the markers
    /// printed just before and after it (a check on the guest's clock, which can lose time: it includes the child shell's
    /// start and the console's latency, a few milliseconds).
    /// </summary>
    public (double Real, double User, double System, double Host) Time(string command)
    {
        commandNumber++;
        // The markers are split by quotes so the shell's echo of the typed line does not match them.
        process.StandardInput.Write(
            $"echo '@@''begin-{commandNumber}'; time -p sh -c '{command}' 2>&1 | sed -n 's/^real //p; s/^user //p; s/^sys //p'; echo '@@''end-{commandNumber}'\n");
        process.StandardInput.Flush();
        ReadUntil($"@@begin-{commandNumber}\r\n");
        var host = Stopwatch.StartNew();
        string printed = ReadUntil($"@@end-{commandNumber}");
        host.Stop();
        // The kernel's own console messages (clocksource changes a few seconds after boot) can land among the lines.
        double[] seconds = printed.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => double.TryParse(line, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) ? value : double.NaN)
            .Where(value => !double.IsNaN(value))
            .ToArray();
        if (seconds.Length != 3)
        {
            throw new InvalidOperationException($"expected busybox time's real, user and sys lines for '{command}', got: {printed}");
        }

        return (seconds[0], seconds[1], seconds[2], host.Elapsed.TotalSeconds);
    }

    /// <summary>Runs <paramref name="command"/> in the guest's shell and returns what it printed, trimmed.</summary>
    public string Run(string command)
    {
        commandNumber++;
        process.StandardInput.Write($"echo '@@''begin-{commandNumber}'; {command}; echo '@@''end-{commandNumber}'\n");
        process.StandardInput.Flush();
        ReadUntil($"@@begin-{commandNumber}\r\n");
        return ReadUntil($"@@end-{commandNumber}").Trim();
    }

    /// <summary>Asks the guest to power off and waits for the VMM to exit (killing it after a minute).</summary>
    public void PowerOff()
    {
        process.StandardInput.Write("poweroff\n");
        process.StandardInput.Flush();
        process.WaitForExit(60_000);
    }

    public void Dispose()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }

        process.Dispose();
    }

    /// <summary>
    /// Returns what the console printed before <paramref name="text"/> and consumes both, reading one character at a time
    /// so nothing past the marker is lost.
    /// </summary>
    private string ReadUntil(string text)
    {
        var clock = Stopwatch.StartNew();
        pending.Clear();
        while (clock.Elapsed < Deadline)
        {
            int next = output.Read();
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

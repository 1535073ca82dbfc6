using System.Globalization;
using Vessel.Server.Interop;

namespace Vessel.Server.Vms;

/// <summary>
/// A process named by its pid and its start time (field 22 of <c>/proc/PID/stat</c>, clock ticks since boot), so a
/// restarted daemon does not mistake a new process that reused the pid for the VMM it started.
/// </summary>
public readonly record struct ProcessIdentity(int Pid, long StartTicks)
{
    public static ProcessIdentity? Of(int pid)
    {
        string? stat = ReadStat(pid);
        if (stat == null)
        {
            return null;
        }

        // proc(5): the command name (field 2) is in parentheses and may hold spaces; count fields after its ')'.
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return new ProcessIdentity(pid, long.Parse(fields[19], CultureInfo.InvariantCulture));
    }

    /// <summary>True while this very process exists and has not exited (a zombie no parent reaped counts as exited).</summary>
    public bool IsAlive()
    {
        string? stat = ReadStat(Pid);
        if (stat == null)
        {
            return false;
        }

        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return fields[0] != "Z" && fields[0] != "X" && long.Parse(fields[19], CultureInfo.InvariantCulture) == StartTicks;
    }

    public bool Signal(int signal) => IsAlive() && Libc.Kill(Pid, signal) == 0;

    private static string? ReadStat(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

namespace Vessel.Server.Models;

/// <summary>What <c>vessel ps</c> shows for a VM: its VMM process running or paused, not running, or ended unasked.</summary>
public static class VmState
{
    public const string Running = "Running";
    public const string Paused = "Paused";
    public const string Stopped = "Stopped";
    public const string Failed = "Failed";
}

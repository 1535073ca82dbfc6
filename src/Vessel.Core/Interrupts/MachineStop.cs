namespace Vessel.Core.Interrupts;

public enum MachineStopReason
{
    /// <summary>The guest powered the machine off (ACPI S5, or a clean halt of every vCPU).</summary>
    PowerOff,

    /// <summary>The guest asked for a reboot (i8042 pulse, reset control port); Vessel ends the VM like Firecracker does.</summary>
    Reset,

    /// <summary>The guest wrote to the debug-exit port; the process exits with (value &lt;&lt; 1) | 1.</summary>
    DebugExit,

    /// <summary>A vCPU triple-faulted (or otherwise entered shutdown).</summary>
    Shutdown,

    /// <summary>The VMM could not go on (an accelerator error, an unemulated instruction).</summary>
    Failure,

    /// <summary>The host asked the VM to stop (Ctrl-A X, a signal, the API).</summary>
    HostRequest,
}

/// <summary>Why a machine stopped, and the process exit status that reports it.</summary>
public readonly record struct MachineStop(MachineStopReason Reason, int ExitStatus, string? Detail = null)
{
    public static MachineStop PowerOff() => new(MachineStopReason.PowerOff, 0);

    public static MachineStop Reset() => new(MachineStopReason.Reset, 0, "the guest requested a reset");

    public static MachineStop DebugExit(uint value) => new(MachineStopReason.DebugExit, (int)(((value << 1) | 1) & 0xFF), $"debug-exit port written with 0x{value:x}");

    public static MachineStop Shutdown(string detail) => new(MachineStopReason.Shutdown, 1, detail);

    public static MachineStop Failure(string detail) => new(MachineStopReason.Failure, 1, detail);

    /// <summary>A stop the host asked for; a signal's stop carries 128 + its number, as a shell reports a process it ended.</summary>
    public static MachineStop HostRequest(string detail = "stopped by the host", int exitStatus = 0) => new(MachineStopReason.HostRequest, exitStatus, detail);
}

namespace Vessel.Server.Models;

/// <summary>
/// The body of <c>POST /v1/vms/NAME/stop</c>: without <see cref="Force"/>, Ctrl-Alt-Del and up to
/// <see cref="TimeoutSeconds"/> for the guest to power off or reboot, then SIGTERM, then SIGKILL.
/// </summary>
public sealed record StopVmRequest
{
    public bool? Force { get; init; }

    public double? TimeoutSeconds { get; init; }
}

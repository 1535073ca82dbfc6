namespace Vessel.Api.Logging;

/// <summary>Firecracker's logger levels, most severe first; a level lets through itself and everything before it.</summary>
public enum LogLevel
{
    Off,
    Error,
    Warning,
    Info,
    Debug,
    Trace,
}

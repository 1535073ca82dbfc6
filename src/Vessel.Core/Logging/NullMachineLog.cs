namespace Vessel.Core.Logging;

/// <summary>Discards messages; for tests and embedders who do not want VMM chatter.</summary>
public sealed class NullMachineLog : IMachineLog
{
    public static readonly NullMachineLog Instance = new();

    public void Info(string message)
    {
    }

    public void Warn(string message)
    {
    }
}

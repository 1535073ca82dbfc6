using Vessel.Core.Logging;

namespace Vessel.Devices.Tests.Fakes;

/// <summary>Keeps the warnings a device logs.</summary>
public sealed class RecordingMachineLog : IMachineLog
{
    public List<string> Warnings { get; } = [];

    public void Info(string message)
    {
    }

    public void Warn(string message) => Warnings.Add(message);
}

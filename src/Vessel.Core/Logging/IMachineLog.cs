namespace Vessel.Core.Logging;

/// <summary>Where the VMM reports what a user or developer may want to know; never the guest's console.</summary>
public interface IMachineLog
{
    void Info(string message);

    void Warn(string message);
}

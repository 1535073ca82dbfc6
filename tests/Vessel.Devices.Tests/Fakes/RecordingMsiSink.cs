using Vessel.Core.Interrupts;

namespace Vessel.Devices.Tests.Fakes;

/// <summary>Keeps every MSI sent the direct way (KVM_SIGNAL_MSI, or the software VM's APICs).</summary>
public sealed class RecordingMsiSink : IMsiSink
{
    public List<(ulong Address, uint Data)> Messages { get; } = [];

    public void SendMsi(ulong address, uint data) => Messages.Add((address, data));
}

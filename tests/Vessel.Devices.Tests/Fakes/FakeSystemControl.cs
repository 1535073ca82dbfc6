using Vessel.Core.Interrupts;

namespace Vessel.Devices.Tests.Fakes;

/// <summary>Collects the stops a device requests.</summary>
public sealed class FakeSystemControl : ISystemControl
{
    public List<MachineStop> Stops { get; } = [];

    public void RequestStop(MachineStop stop) => Stops.Add(stop);
}

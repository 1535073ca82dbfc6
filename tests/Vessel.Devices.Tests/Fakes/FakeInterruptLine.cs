using Vessel.Core.Interrupts;

namespace Vessel.Devices.Tests.Fakes;

/// <summary>Records the level a device drives and how many rising edges it produced.</summary>
public sealed class FakeInterruptLine : IInterruptLine
{
    public bool Asserted { get; private set; }

    public int RisingEdges { get; private set; }

    public void SetLevel(bool asserted)
    {
        if (asserted && !Asserted)
        {
            RisingEdges++;
        }

        Asserted = asserted;
    }
}

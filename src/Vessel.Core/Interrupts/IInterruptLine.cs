namespace Vessel.Core.Interrupts;

/// <summary>One device's interrupt wire into the machine's interrupt router (a GSI).</summary>
public interface IInterruptLine
{
    /// <summary>Drives the line high (asserted) or low. Edge-triggered consumers see the rising edge.</summary>
    void SetLevel(bool asserted);
}
